/**
 * Applies inserts, updates and deletes with conflict detection: the local row is locked and read with its
 * version, compared with what the change was based on, and a conflict is resolved by the table's policy and
 * recorded in `cdc_apply.conflicts` in the same target transaction. Deletes leave tombstones, so a change
 * older than a delete does not bring the row back. Each key is locked before it is read (key-locks.ts), so
 * sessions writing one key take turns. See docs/conflicts.md for the rules.
 *
 * The parts: check.ts (a change's key and version), missing-key.ts (a row that is gone), key-move.ts (an update
 * to another key), insert-run.ts (consecutive inserts in one statement), decided-writes.ts (writing and
 * recording what was decided).
 */
import type {
  ChangeEvent,
  DeleteEvent,
  InsertEvent,
  Row,
  UpdateEvent,
} from '../../../schemas/events/change-event.ts';
import type { CdcError } from '../../../common/errors.ts';
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { Statement, StatementSyntax, TableShape, TargetConnection } from '../sql-dialect.ts';
import { allAssignments, chooseColumns, oldImageWarning, sentColumns } from './column-choice.ts';
import { deleteByKey, updateByKey } from './keyed-statements.ts';
import type { ConflictDialect, LocalRow, Locked } from './conflict-dialect.ts';
import { ConflictCounts } from './conflict-counts.ts';
import { ClockSkew, DEFAULT_MAX_CLOCK_SKEW_MILLIS } from './clock-skew.ts';
import { remoteWins } from './resolve.ts';
import { loadResolver } from './resolver-module.ts';
import { checkOf, conflictOf, movesKey, nonKey, tableName, type Check } from './check.ts';
import { DecidedWrites } from './decided-writes.ts';
import { writeMissing } from './missing-key.ts';
import { moveKey } from './key-move.ts';
import { insertRun } from './insert-run.ts';
import { KeyLocks } from './key-locks.ts';
import {
  isNewer,
  tablePolicy,
  type ConflictKind,
  type ConflictOutcome,
  type ConflictSettings,
  type Resolution,
} from './types.ts';

/** Tombstones deleted per collection, so one target transaction never carries a long delete. */
const COLLECT_LIMIT = 1_000;
const COLLECT_EVERY_MILLIS = 60_000;

export class ConflictWriter<C extends TargetConnection> {
  readonly counts = new ConflictCounts();
  /** How far ahead of the target's clock the changes' commit times are: what skews last-writer-wins. */
  readonly skew: ClockSkew;
  private readonly syntax: StatementSyntax;
  private readonly dialect: ConflictDialect<C>;
  private settings: ConflictSettings;
  private readonly writes: DecidedWrites<C>;
  private readonly keyLocks: KeyLocks<C>;
  private lastCollect = 0;
  /** Table shapes whose local deletes leave tombstones already. */
  private readonly prepared = new WeakSet<TableShape>();
  /** Shapes whose trigger the open target transaction created: known only once it commits. */
  private pendingPrepared: TableShape[] = [];
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
    this.writes = new DecidedWrites(syntax, dialect, this.counts);
    this.keyLocks = new KeyLocks(dialect);
    this.skew = new ClockSkew(
      dialect.clock,
      settings.maxClockSkewMillis ?? DEFAULT_MAX_CLOCK_SKEW_MILLIS,
      logger,
    );
  }

  /** The target transaction committed: its counts and triggers hold. */
  commit(): void {
    this.counts.commit();
    this.keyLocks.reset();
    for (const shape of this.pendingPrepared) this.prepared.add(shape);
    this.pendingPrepared = [];
  }

  /** The target transaction rolled back: so did its counts and the triggers it created. */
  discard(): void {
    this.counts.discard();
    this.keyLocks.reset();
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
    await this.prepareShape(connection, shape);
    if (event.op === 'u' && movesKey(shape, event))
      return moveKey(
        { writes: this.writes, counts: this.counts },
        (part) => this.write(connection, link, shape, part),
        connection,
        event,
      );
    const check = checkOf(this.settings, link, shape, event);
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
   * Applies consecutive inserts of one keyed table of one source transaction, deciding each exactly as `write`
   * does; those whose key has no row and no tombstone go out together (insert-run.ts). Returns as `write`, for
   * the first change to go to the dead letters (the rest are not applied then).
   */
  async writeInserts(
    connection: C,
    link: string,
    shape: TableShape,
    events: readonly InsertEvent[],
  ): Promise<CdcError | null> {
    await this.prepareShape(connection, shape);
    return insertRun(
      { syntax: this.syntax, dialect: this.dialect },
      connection,
      shape,
      events,
      (keys) => this.keyLocks.take(connection, shape, tableName(shape), keys, false),
      (event) => this.write(connection, link, shape, event),
    );
  }

  /** Gives the table its tombstone triggers the first time the link writes it, and warns about its old image. */
  private async prepareShape(connection: C, shape: TableShape): Promise<void> {
    if (this.prepared.has(shape) || this.pendingPrepared.includes(shape)) return;
    const table = tableName(shape);
    await this.dialect.prepareTable(connection, shape, table);
    this.pendingPrepared.push(shape);
    const warning = oldImageWarning(shape, tablePolicy(this.settings, table), table);
    if (warning !== null && !this.warned.has(warning)) {
      this.warned.add(warning);
      this.logger.warn({ table }, warning);
    }
  }

  private async insert(connection: C, check: Check, event: InsertEvent): Promise<CdcError | null> {
    const { local, tombstone } = await this.lock(connection, check, event.after);
    if (local === null) return this.missing(connection, check, event, 'insert_exists', tombstone);
    if (local.version === null || local.equal.size === Object.keys(event.after).length) {
      // Written earlier in this source transaction, or the very same row already: nothing to decide. The same
      // row still takes the later version: a node where this change landed on another row holds it under the
      // change's version, and a delete between the two versions must end alike on both.
      return local.version === null || isNewer(check.remote, local.version)
        ? this.writes.guarded(connection, check, event, this.writes.upsert(check, event.after))
        : null;
    }
    const resolution = this.resolve(check, 'insert_exists', local, event);
    const statement = this.statementFor(check, resolution, this.writes.upsert(check, event.after));
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
    if (local === null) return this.missing(connection, check, event, 'update_missing', tombstone);
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
    if (!differs) return statement ? this.writes.guarded(connection, check, event, statement) : null;
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
      await this.writes.record(connection, check, event, 'delete_missing', null, tombstone, 'skipped');
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
      return this.writes.deadLetter(
        connection,
        check,
        event,
        kind,
        local.json,
        local.version,
        resolution.reason,
      );
    if (statement) {
      const failed = await this.writes.guarded(connection, check, event, statement);
      if (failed) return failed;
      if (event.op === 'd')
        await this.dialect.writeTombstone(connection, check.shape, check.table, check.key, check.remote);
    }
    const final = resolution?.action === 'write' ? 'merged' : outcome;
    await this.writes.record(connection, check, event, kind, local.json, local.version, final);
    return null;
  }

  private async lock(connection: C, check: Check, compare: Row): Promise<Locked> {
    await this.keyLocks.take(connection, check.shape, check.table, [check.key], true);
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

  private missing(
    connection: C,
    check: Check,
    event: InsertEvent | UpdateEvent,
    kind: ConflictKind,
    tombstone: Locked['tombstone'],
  ): Promise<CdcError | null> {
    return writeMissing(
      { writes: this.writes, dialect: this.dialect, settings: this.settings },
      connection,
      check,
      event,
      kind,
      tombstone,
    );
  }
}
