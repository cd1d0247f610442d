/**
 * Applies inserts, updates and deletes with conflict detection: the local row is locked and read with its
 * version, compared with what the change was based on, and a conflict is resolved by the table's policy and
 * recorded in `cdc_apply.conflicts` in the same target transaction. Deletes leave tombstones, so a change
 * older than a delete does not bring the row back. See docs/conflicts.md for the rules.
 */
import type {
  ChangeEvent,
  DeleteEvent,
  InsertEvent,
  Row,
  UpdateEvent,
} from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { Statement, StatementSyntax, TableShape, TargetConnection } from '../sql-dialect.ts';
import { insertRows, unsentColumns } from '../statements.ts';
import { allAssignments, chooseColumns, oldImageWarning, sentColumns } from './column-choice.ts';
import { deleteByKey, updateByKey } from './keyed-statements.ts';
import { microsToTimestamp } from '../postgres/sql.ts';
import type { ConflictDialect, LocalRow, Locked } from './conflict-dialect.ts';
import { recordConflict } from './conflict-log.ts';
import { ConflictCounts } from './conflict-counts.ts';
import { ClockSkew, DEFAULT_MAX_CLOCK_SKEW_MILLIS } from './clock-skew.ts';
import { remoteWins } from './resolve.ts';
import { loadResolver } from './resolver-module.ts';
import {
  isNewer,
  sameVersion,
  tablePolicy,
  type Conflict,
  type ConflictKind,
  type ConflictOutcome,
  type ConflictSettings,
  type Resolution,
  type TablePolicy,
  type Version,
} from './types.ts';
import { keyJson, rowJson } from './values-json.ts';

const SAVEPOINT = 'cdc_conflict';
/** Around a key change's delete and insert, so an insert that cannot land undoes the delete too. */
const MOVE_SAVEPOINT = 'cdc_conflict_move';
/** Tombstones deleted per collection, so one target transaction never carries a long delete. */
const COLLECT_LIMIT = 1_000;
const COLLECT_EVERY_MILLIS = 60_000;

/** Everything one change needs while it is checked. */
interface Check {
  readonly link: string;
  readonly shape: TableShape;
  readonly table: string;
  readonly policy: TablePolicy;
  readonly key: Row;
  readonly keyJson: string;
  readonly remote: Version;
}

/** What `record` was called with, to write a record again after a savepoint rolled it back. */
type RecordArgs = [Check, ChangeEvent, ConflictKind, string | null, Version | null, ConflictOutcome];

export class ConflictWriter<C extends TargetConnection> {
  readonly counts = new ConflictCounts();
  /** How far ahead of the target's clock the changes' commit times are: what skews last-writer-wins. */
  readonly skew: ClockSkew;
  private readonly syntax: StatementSyntax;
  private readonly dialect: ConflictDialect<C>;
  private settings: ConflictSettings;
  private lastCollect = 0;
  /** Table shapes whose local deletes leave tombstones already. */
  private readonly prepared = new WeakSet<TableShape>();
  /** Shapes whose trigger the open target transaction created: known only once it commits. */
  private pendingPrepared: TableShape[] = [];
  /** While set, records written are also kept here (a key change may roll them back and write them again). */
  private capture: RecordArgs[] | null = null;
  private readonly logger: Logger;
  /** Configuration warnings logged already (once per worker each). */
  private readonly warned = new Set<string>();

  constructor(
    syntax: StatementSyntax,
    dialect: ConflictDialect<C>,
    settings: ConflictSettings,
    logger: Logger = silentLogger,
  ) {
    this.syntax = syntax;
    this.dialect = dialect;
    this.settings = settings;
    this.logger = logger;
    this.skew = new ClockSkew(
      dialect.clock,
      settings.maxClockSkewMillis ?? DEFAULT_MAX_CLOCK_SKEW_MILLIS,
      logger,
    );
  }

  /** The target transaction committed: its counts and triggers hold. */
  commit(): void {
    this.counts.commit();
    for (const shape of this.pendingPrepared) this.prepared.add(shape);
    this.pendingPrepared = [];
  }

  /** The target transaction rolled back: so did its counts and the triggers it created. */
  discard(): void {
    this.counts.discard();
    this.pendingPrepared = [];
  }

  /** Loads the custom resolver module, when one is named. */
  async prepare(): Promise<void> {
    const path = this.settings.resolverModule;
    if (path !== undefined && this.settings.resolver === undefined)
      this.settings = { ...this.settings, resolver: await loadResolver(path) };
  }

  /**
   * Deletes expired tombstones now and then, a bounded number at a time, inside the open transaction; and gives
   * tables created since (`localTables`) their tombstone triggers.
   */
  async collectIfDue(connection: C, now = Date.now()): Promise<number> {
    if (now - this.lastCollect < COLLECT_EVERY_MILLIS) return 0;
    this.lastCollect = now;
    await this.protectLocalTables(connection);
    return this.dialect.collectTombstones(connection, this.settings.tombstoneRetentionMillis, COLLECT_LIMIT);
  }

  /**
   * Makes local deletes of the node's replicated tables leave tombstones before the link first writes them: a
   * delete made here before that would leave none, and an older insert or update of the key from elsewhere would
   * bring the row back here only.
   */
  async protectLocalTables(connection: C): Promise<void> {
    const patterns = this.settings.localTables ?? [];
    if (patterns.length === 0) return;
    const prepared = await this.dialect.protectTables(connection, patterns);
    if (prepared.length > 0)
      this.logger.info({ tables: prepared }, 'local deletes of these tables leave tombstones from now on');
  }

  /**
   * Applies one change of a keyed table. Returns null, or the error of a change that is to go to the dead
   * letters (its conflict is recorded already and nothing of it was written).
   */
  async write(
    connection: C,
    link: string,
    shape: TableShape,
    event: InsertEvent | UpdateEvent | DeleteEvent,
  ): Promise<CdcError | null> {
    const table = `${shape.table.schema}.${shape.table.table}`;
    if (!this.prepared.has(shape) && !this.pendingPrepared.includes(shape)) {
      await this.dialect.prepareTable(connection, shape, table);
      this.pendingPrepared.push(shape);
      const warning = oldImageWarning(shape, tablePolicy(this.settings, table), table);
      if (warning !== null && !this.warned.has(warning)) {
        this.warned.add(warning);
        this.logger.warn({ table }, warning);
      }
    }
    if (event.op === 'u' && movesKey(shape, event)) return this.moveKey(connection, link, shape, event);
    const identity =
      event.op === 'c'
        ? event.after
        : event.op === 'd'
          ? event.before
          : (keyed(shape, event.before) ?? event.after);
    const key = pickKey(shape, identity);
    const check: Check = {
      link,
      shape,
      table,
      policy: tablePolicy(this.settings, table),
      key,
      keyJson: keyJson(shape.table.key, key),
      remote: {
        commitMicros: event.source.commitTimeMicros,
        origin: event.source.origin ?? event.source.connector,
      },
    };
    switch (event.op) {
      case 'c':
        return this.insert(connection, check, event);
      case 'u':
        return this.update(connection, check, event);
      case 'd':
        return this.delete(connection, check, event);
    }
  }

  /**
   * An update moving a row to another key is, for conflicts, the old key's delete and the new key's insert: each
   * key is decided on its own, as on the node that made the change (where the old key leaves a tombstone), so a
   * concurrent change of the old key elsewhere ends alike on both nodes whichever is later.
   */
  private async moveKey(
    connection: C,
    link: string,
    shape: TableShape,
    event: UpdateEvent & { readonly before: Row },
  ): Promise<CdcError | null> {
    await connection.run({ text: `SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
    const counted = this.counts.mark();
    const removed = await this.write(connection, link, shape, {
      ...event,
      op: 'd',
      before: event.before,
      after: null,
    });
    // A delete sent to the dead letters wrote nothing but its record.
    if (removed) {
      await connection.run({ text: `RELEASE SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
      return removed;
    }
    const records: RecordArgs[] = [];
    this.capture = records;
    let added: CdcError | null;
    try {
      added = await this.write(connection, link, shape, {
        ...event,
        op: 'c',
        before: null,
        after: event.after,
      });
    } finally {
      this.capture = null;
    }
    if (added === null) {
      await connection.run({ text: `RELEASE SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
      return null;
    }
    // The new key cannot be written: the old key's delete is undone too, so nothing of the change is written
    // (what a rejected change promises), and only the insert's conflict is recorded.
    await connection.run({ text: `ROLLBACK TO SAVEPOINT ${MOVE_SAVEPOINT}`, values: [] });
    this.counts.rollbackTo(counted);
    for (const args of records) await this.record(connection, ...args);
    return added;
  }

  private async insert(connection: C, check: Check, event: InsertEvent): Promise<CdcError | null> {
    const { local, tombstone } = await this.lock(connection, check, event.after);
    if (local === null) return this.writeMissing(connection, check, event, 'insert_exists', tombstone);
    if (local.version === null || local.equal.size === Object.keys(event.after).length) {
      // Written earlier in this source transaction, or the very same row already: nothing to decide.
      return local.version === null
        ? this.guarded(connection, check, event, this.upsert(check, event.after))
        : null;
    }
    const resolution = this.resolve(check, 'insert_exists', local, event);
    const statement = this.statementFor(check, resolution, this.upsert(check, event.after));
    return this.conclude(
      connection,
      check,
      event,
      'insert_exists',
      local,
      resolution,
      statement,
      statement ? 'applied_remote' : 'kept_local',
    );
  }

  private async update(connection: C, check: Check, event: UpdateEvent): Promise<CdcError | null> {
    const compared = nonKey(check.shape, event.before);
    const { local, tombstone } = await this.lock(connection, check, compared);
    if (local === null) return this.writeMissing(connection, check, event, 'update_missing', tombstone);
    const differs = this.differs(check, local, compared);
    if (check.policy.policy === 'custom' && differs) {
      const resolution = this.resolve(check, 'update_differs', local, event);
      const remote = updateByKey(
        this.syntax,
        check.shape,
        check.key,
        chooseColumns(check.shape, check.policy, event, local.equal, false, true),
      );
      const statement = this.statementFor(check, resolution, remote);
      return this.conclude(
        connection,
        check,
        event,
        'update_differs',
        local,
        resolution,
        statement,
        statement ? 'applied_remote' : 'kept_local',
      );
    }
    const wins =
      local.version === null || remoteWins(check.policy.policy, this.settings, local.version, check.remote);
    const assignments = chooseColumns(check.shape, check.policy, event, local.equal, differs, wins);
    const statement = updateByKey(this.syntax, check.shape, check.key, assignments);
    if (!differs) return statement ? this.guarded(connection, check, event, statement) : null;
    const sent = sentColumns(check.shape, event);
    const outcome: ConflictOutcome =
      assignments.length === 0
        ? 'kept_local'
        : assignments.length === sent.length && !assignments.some((a) => a.delta)
          ? 'applied_remote'
          : 'merged';
    return this.conclude(connection, check, event, 'update_differs', local, null, statement, outcome);
  }

  private async delete(connection: C, check: Check, event: DeleteEvent): Promise<CdcError | null> {
    const compared = nonKey(check.shape, event.before);
    const { local, tombstone } = await this.lock(connection, check, compared);
    if (local === null) {
      // Deleted here too (delete–delete), or never here: the tombstone still stops an older insert from landing.
      // Only the later of the two deletes may stand as the key's tombstone: had an earlier remote delete replaced
      // a later local one, a remote insert made between the two would land here and not on the other node.
      if (tombstone === null || isNewer(check.remote, tombstone))
        await this.dialect.writeTombstone(connection, check.shape, check.table, check.key, check.remote);
      await this.record(connection, check, event, 'delete_missing', null, tombstone, 'skipped');
      return null;
    }
    const remove = deleteByKey(this.syntax, check.shape, check.key);
    if (!this.differs(check, local, compared)) {
      await connection.run(remove);
      await this.dialect.writeTombstone(connection, check.shape, check.table, check.key, check.remote);
      return null;
    }
    const resolution = this.resolve(check, 'delete_differs', local, event);
    const wins = resolution.action === 'apply-remote';
    return this.conclude(
      connection,
      check,
      event,
      'delete_differs',
      local,
      resolution,
      wins ? remove : null,
      wins ? 'applied_remote' : 'kept_local',
    );
  }

  /** A change whose row is missing: an insert or update older than the key's tombstone does not resurrect it. */
  private async writeMissing(
    connection: C,
    check: Check,
    event: InsertEvent | UpdateEvent,
    kind: ConflictKind,
    tombstone: Version | null,
  ): Promise<CdcError | null> {
    if (tombstone === null && event.op === 'c') return this.insertMissing(connection, check, event);
    // A custom resolver decides a missing row too (shown no local row and the tombstone's version) where it is
    // a conflict: an update of a missing row, an insert older than the key's delete. An insert later than the
    // delete is the key coming back, and the change's own version competes with nothing (resolve.ts).
    const conflicting =
      tombstone === null
        ? true
        : !sameVersion(tombstone, check.remote) && (event.op === 'u' || isNewer(tombstone, check.remote));
    const asked =
      check.policy.policy === 'custom' && this.settings.resolver !== undefined && conflicting
        ? this.resolveMissing(check, kind, tombstone, event)
        : null;
    if (asked?.action === 'dead-letter')
      return this.deadLetter(connection, check, event, kind, null, tombstone, asked.reason);
    // Under keep-local, a tombstone the change's own origin left is that node's earlier delete, not a local
    // version: the later of the two wins, or a key deleted and inserted again there would stay deleted here.
    const policy =
      check.policy.policy === 'custom' ||
      (check.policy.policy === 'keep-local' && tombstone?.origin === check.remote.origin)
        ? 'last-writer-wins'
        : check.policy.policy;
    const wins = asked
      ? asked.action !== 'keep-local'
      : tombstone === null || remoteWins(policy, this.settings, tombstone, check.remote);
    if (!wins) {
      await this.record(
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
    if (tombstone !== null)
      await this.dialect.removeTombstone(connection, check.shape, check.table, check.key);
    if (event.op === 'u') {
      const unsent = unsentColumns(check.shape.table, event.after, event.unchanged);
      if (unsent.length > 0) {
        await this.record(connection, check, event, kind, null, tombstone, 'dead_lettered');
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
    const failed = await this.insertMissing(connection, check, event, row);
    // An insert later than the key's delete is the key coming back (deleted, then inserted again): no conflict.
    if (failed === null && (event.op === 'u' || asked !== null))
      await this.record(
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

  /** The custom resolver's answer for a change whose row is missing (deleted here, or never here). */
  private resolveMissing(
    check: Check,
    kind: ConflictKind,
    tombstone: Version | null,
    event: InsertEvent | UpdateEvent,
  ): Resolution {
    return this.settings.resolver!(conflictOf(check, kind, null, tombstone, event));
  }

  /**
   * Local differs from what the change was based on. With a full old image, compared column by column by the
   * target; with only the key, the local row is newer than the change (so applying it would lose a later write).
   */
  private differs(check: Check, local: LocalRow, compared: Row): boolean {
    if (local.version === null) return false;
    const names = Object.keys(compared).filter((name) => compared[name] !== undefined);
    if (names.length > 0) return names.some((name) => !local.equal.has(name));
    return isNewer(local.version, check.remote);
  }

  /** A custom resolver's answer, or the policy's, for a conflict over a whole row. */
  private resolve(check: Check, kind: ConflictKind, local: LocalRow, event: ChangeEvent): Resolution {
    if (check.policy.policy === 'custom' && this.settings.resolver)
      return this.settings.resolver(
        conflictOf(check, kind, JSON.parse(local.json) as Record<string, unknown>, local.version, event),
      );
    const wins =
      local.version === null || remoteWins(check.policy.policy, this.settings, local.version, check.remote);
    return wins ? { action: 'apply-remote' } : { action: 'keep-local' };
  }

  /** What a resolution writes: the remote change (`remote`), a row of the resolver's making, or nothing. */
  private statementFor(check: Check, resolution: Resolution, remote: Statement | null): Statement | null {
    if (resolution.action === 'apply-remote') return remote;
    if (resolution.action === 'write')
      return updateByKey(this.syntax, check.shape, check.key, allAssignments(check.shape, resolution.row));
    return null;
  }

  /** Writes a resolved conflict and records it. */
  private async conclude(
    connection: C,
    check: Check,
    event: ChangeEvent,
    kind: ConflictKind,
    local: LocalRow,
    resolution: Resolution | null,
    statement: Statement | null,
    outcome: ConflictOutcome,
  ): Promise<CdcError | null> {
    if (resolution?.action === 'dead-letter')
      return this.deadLetter(connection, check, event, kind, local.json, local.version, resolution.reason);
    if (statement) {
      const failed = await this.guarded(connection, check, event, statement);
      if (failed) return failed;
      if (event.op === 'd')
        await this.dialect.writeTombstone(connection, check.shape, check.table, check.key, check.remote);
    }
    const final = resolution?.action === 'write' ? 'merged' : outcome;
    await this.record(connection, check, event, kind, local.json, local.version, final);
    return null;
  }

  /** A resolver sent the change to the dead letters: recorded, nothing written. */
  private async deadLetter(
    connection: C,
    check: Check,
    event: ChangeEvent,
    kind: ConflictKind,
    localJson: string | null,
    localVersion: Version | null,
    reason: string,
  ): Promise<CdcError> {
    await this.record(connection, check, event, kind, localJson, localVersion, 'dead_lettered');
    return new CdcError('APPLY_FAILED', `conflict on ${check.shape.sql} key ${check.keyJson}: ${reason}`, {
      table: check.shape.sql,
      position: formatPosition(event.source.position),
    });
  }

  /** Runs a write under a savepoint: a unique-key violation is rolled back, recorded and dead-lettered. */
  private async guarded(
    connection: C,
    check: Check,
    event: ChangeEvent,
    statement: Statement,
  ): Promise<CdcError | null> {
    await connection.run({ text: `SAVEPOINT ${SAVEPOINT}`, values: [] });
    try {
      await connection.run(statement);
    } catch (error) {
      if (!this.dialect.isUniqueViolation(error)) throw error;
      await connection.run({ text: `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, values: [] });
      await this.record(connection, check, event, 'unique_violation', null, null, 'dead_lettered');
      const detail = (error as { detail?: unknown }).detail;
      return new CdcError(
        'APPLY_FAILED',
        `${event.op === 'c' ? 'insert' : event.op === 'u' ? 'update' : 'delete'} at ${formatPosition(event.source.position)} on ${check.shape.sql} violates a unique key${typeof detail === 'string' ? `: ${detail}` : ''}`,
        { table: check.shape.sql, position: formatPosition(event.source.position) },
        { cause: error },
      );
    }
    await connection.run({ text: `RELEASE SAVEPOINT ${SAVEPOINT}`, values: [] });
    return null;
  }

  private async record(
    connection: C,
    check: Check,
    event: ChangeEvent,
    kind: ConflictKind,
    localJson: string | null,
    localVersion: Version | null,
    outcome: ConflictOutcome,
  ): Promise<void> {
    this.capture?.push([check, event, kind, localJson, localVersion, outcome]);
    const remote = event.after ?? event.before;
    await connection.run(
      recordConflict(
        {
          link: check.link,
          table: check.table,
          keyJson: check.keyJson,
          kind,
          policy: check.policy.policy,
          outcome,
          localJson,
          remoteJson: remote ? rowJson(remote) : null,
          localOrigin: localVersion?.origin ?? null,
          remoteOrigin: check.remote.origin,
          localCommitTs: localVersion ? microsToTimestamp(localVersion.commitMicros) : null,
          remoteCommitTs: microsToTimestamp(check.remote.commitMicros),
        },
        this.dialect.flavor,
      ),
    );
    this.counts.note({ table: check.table, kind, policy: check.policy.policy, outcome });
  }

  private lock(connection: C, check: Check, compare: Row): Promise<Locked> {
    return this.dialect.lockRow(connection, check.shape, check.table, check.key, compare, (origin) =>
      this.originNode(origin),
    );
  }

  /** The node of a replication origin: `cdc_<from>__<to>` is a topology link from `<from>`; none is a local write. */
  private originNode(origin: string | null): string {
    if (origin === null) return this.settings.localNode;
    const named = this.settings.originNodes?.[origin];
    if (named !== undefined) return named;
    const bare = origin.startsWith('cdc_') ? origin.slice(4) : origin;
    const link = bare.indexOf('__');
    return link > 0 ? bare.slice(0, link) : bare;
  }

  /**
   * Inserts a row known missing (it is locked as absent): a unique violation of any key only skips the row, so
   * no savepoint is needed on this hot path; a skipped row is written again under a savepoint, which names the
   * violated key, records it and dead-letters the change.
   */
  private async insertMissing(
    connection: C,
    check: Check,
    event: InsertEvent | UpdateEvent,
    row: Row = event.after,
  ): Promise<CdcError | null> {
    const statement = this.insert1(check, row);
    const written = await connection.run({
      text: `${statement.text} ${this.dialect.onAnyConflictNothing}`,
      values: statement.values,
    });
    if (written.count > 0) return null;
    return this.guarded(connection, check, event, statement);
  }

  private insert1(check: Check, row: Row): Statement {
    return insertRows(this.syntax, check.shape.table, check.shape.sql, [row], false);
  }

  private upsert(check: Check, row: Row): Statement {
    return insertRows(this.syntax, check.shape.table, check.shape.sql, [row], true);
  }
}

/**
 * An update whose old image carries the whole key and whose new row holds another one, with every column sent
 * (a row with unchanged TOAST columns cannot be inserted under the new key from the event alone: it is updated
 * in place, as without conflict handling).
 */
function movesKey(shape: TableShape, event: UpdateEvent): event is UpdateEvent & { readonly before: Row } {
  const before = keyed(shape, event.before);
  if (before === null || unsentColumns(shape.table, event.after, event.unchanged).length > 0) return false;
  return (
    keyJson(shape.table.key, pickKey(shape, before)) !== keyJson(shape.table.key, pickKey(shape, event.after))
  );
}

function pickKey(shape: TableShape, row: Row): Row {
  return Object.fromEntries(shape.table.key.map((name) => [name, row[name] ?? null]));
}

/** What a custom resolver is shown. */
function conflictOf(
  check: Check,
  kind: ConflictKind,
  local: Record<string, unknown> | null,
  localVersion: Version | null,
  event: ChangeEvent,
): Conflict {
  return {
    kind,
    table: check.table,
    key: check.key,
    local,
    localVersion,
    remoteBefore: event.before,
    remoteAfter: event.after,
    remoteVersion: check.remote,
  };
}

/** `before` when it carries the whole key. */
function keyed(shape: TableShape, before: Row | null): Row | null {
  return before && shape.table.key.every((name) => before[name] !== undefined && before[name] !== null)
    ? before
    : null;
}

/** The old image without the key columns: what the local row is compared with. */
function nonKey(shape: TableShape, before: Row | null): Row {
  const key = new Set(shape.table.key);
  return Object.fromEntries(
    Object.entries(before ?? {}).filter(([name, value]) => !key.has(name) && value !== undefined),
  );
}
