/**
 * An update moving a row to another key is, for conflicts, the old key's delete and the new key's insert: each
 * key is decided on its own, as on the node that made the change (where the old key leaves a tombstone), so a
 * concurrent change of the old key elsewhere ends alike on both nodes whichever is later.
 */
import type { DeleteEvent, InsertEvent, Row, UpdateEvent } from '../../../schemas/events/change-event.ts';
import type { CdcError } from '../../../common/errors.ts';
import type { TargetConnection } from '../sql-dialect.ts';
import type { ConflictCounts } from './conflict-counts.ts';
import type { DecidedWrites, RecordArgs } from './decided-writes.ts';

/** Around a key change's delete and insert, so an insert that cannot land undoes the delete too. */
const MOVE_SAVEPOINT = 'cdc_conflict_move';

export async function moveKey<C extends TargetConnection>(
  parts: { readonly writes: DecidedWrites<C>; readonly counts: ConflictCounts },
  write: (event: InsertEvent | DeleteEvent) => Promise<CdcError | null>,
  connection: C,
  event: UpdateEvent & { readonly before: Row },
): Promise<CdcError | null> {
  const { writes, counts } = parts;
  await connection.run({ text: `SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
  const counted = counts.mark();
  const removed = await write({ ...event, op: 'd', before: event.before, after: null });
  // A delete sent to the dead letters wrote nothing but its record.
  if (removed) {
    await connection.run({ text: `RELEASE SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
    return removed;
  }
  const records: RecordArgs[] = [];
  writes.capture = records;
  let added: CdcError | null;
  try {
    added = await write({ ...event, op: 'c', before: null, after: event.after });
  } finally {
    writes.capture = null;
  }
  if (added === null) {
    await connection.run({ text: `RELEASE SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
    return null;
  }
  // The new key cannot be written: the old key's delete is undone too, so nothing of the change is written
  // (what a rejected change promises), and only the insert's conflict is recorded.
  await connection.run({ text: `ROLLBACK TO SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
  counts.rollbackTo(counted);
  for (const args of records) await writes.record(connection, ...args);
  return added;
}
