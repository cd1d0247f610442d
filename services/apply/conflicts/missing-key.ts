/**
 * A change whose row is missing (deleted here, or never here): an insert or update older than the key's
 * tombstone does not bring the row back; a later one does, and removes the tombstone. A custom resolver decides
 * where it is a conflict. See docs/conflicts.md, "Tombstones" and "Policies".
 */
import type { InsertEvent, UpdateEvent } from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import type { TargetConnection } from '../sql-dialect.ts';
import { unsentColumns } from '../statements.ts';
import type { ConflictDialect } from './conflict-dialect.ts';
import { conflictOf, type Check } from './check.ts';
import type { DecidedWrites } from './decided-writes.ts';
import { remoteWins } from './resolve.ts';
import { isNewer, sameVersion, type ConflictKind, type ConflictSettings, type Version } from './types.ts';

export async function writeMissing<C extends TargetConnection>(
  parts: {
    readonly writes: DecidedWrites<C>;
    readonly dialect: ConflictDialect<C>;
    readonly settings: ConflictSettings;
  },
  connection: C,
  check: Check,
  event: InsertEvent | UpdateEvent,
  kind: ConflictKind,
  tombstone: Version | null,
): Promise<CdcError | null> {
  const { writes, dialect, settings } = parts;
  if (tombstone === null && event.op === 'c') return writes.insertMissing(connection, check, event);
  // A custom resolver decides a missing row too (shown no local row and the tombstone's version) where it is
  // a conflict: an update of a missing row, an insert older than the key's delete. An insert later than the
  // delete is the key coming back, and the change's own version competes with nothing (resolve.ts).
  const conflicting =
    tombstone === null
      ? true
      : !sameVersion(tombstone, check.remote) && (event.op === 'u' || isNewer(tombstone, check.remote));
  const asked =
    check.policy.policy === 'custom' && settings.resolver !== undefined && conflicting
      ? settings.resolver(conflictOf(check, kind, null, tombstone, event))
      : null;
  if (asked?.action === 'dead-letter')
    return writes.deadLetter(connection, check, event, kind, null, tombstone, asked.reason);
  // Under keep-local, a tombstone the change's own origin left is that node's earlier delete, not a local
  // version: the later of the two wins, or a key deleted and inserted again there would stay deleted here.
  const policy =
    check.policy.policy === 'custom' ||
    (check.policy.policy === 'keep-local' && tombstone?.origin === check.remote.origin)
      ? 'last-writer-wins'
      : check.policy.policy;
  const wins = asked
    ? asked.action !== 'keep-local'
    : tombstone === null || remoteWins(policy, settings, tombstone, check.remote);
  if (!wins) {
    await writes.record(
      connection,
      check,
      event,
      kind,
      null,
      tombstone,
      event.op === 'c' ? 'kept_local' : 'skipped',
    );
    return null;
  }
  if (tombstone !== null) await dialect.removeTombstone(connection, check.shape, check.table, check.key);
  if (event.op === 'u') {
    const unsent = unsentColumns(check.shape.table, event.after, event.unchanged);
    if (unsent.length > 0) {
      await writes.record(connection, check, event, kind, null, tombstone, 'dead_lettered');
      return new CdcError(
        'APPLY_FAILED',
        `update at ${formatPosition(event.source.position)} found no row in ${check.shape.sql} with key ${check.keyJson}: the update cannot insert it because the source did not send ${unsent.join(', ')} (unchanged)`,
        {
          table: check.shape.sql,
          position: formatPosition(event.source.position),
          unsent: unsent.join(', '),
        },
      );
    }
  }
  // A resolver's row is inserted over the change's (the key stays the change's).
  const row = asked?.action === 'write' ? { ...event.after, ...asked.row, ...check.key } : event.after;
  const failed = await writes.insertMissing(connection, check, event, row);
  // An insert later than the key's delete is the key coming back (deleted, then inserted again): no conflict.
  if (failed === null && (event.op === 'u' || asked !== null))
    await writes.record(
      connection,
      check,
      event,
      kind,
      null,
      tombstone,
      asked?.action === 'write' ? 'merged' : 'applied_remote',
    );
  return failed;
}
