/**
 * The one SQL sink: applies many source transactions in one target transaction, with the stream's applied
 * position written in the same transaction, so after any crash a redelivered event at or before that position
 * is recognized and skipped. Everything every target shares lives here; a dialect (sql-dialect.ts) supplies
 * the connection, the spelling of statements, the table shapes and what the target's errors mean.
 *
 * The applied position never moves backwards. Each target transaction starts by reading the stored position
 * under a row lock and comparing it with the one this sink last wrote or read: a stored position further
 * ahead means another worker applied the stream meanwhile (a zombie after a rebalance, two workers on one
 * stream), and this one stops with APPLY_STALE_WORKER instead of writing what it holds.
 *
 * A target whose DDL commits implicitly (MariaDB/MySQL) gets its open transaction committed first, with the
 * position of the last event written, when a table must be created or changed in the middle of a batch:
 * every commit still carries its exact position, but such a source transaction becomes visible in two parts.
 *
 * With conflict handling, batches are written by checked-writes.ts (a target transaction per source transaction).
 */
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import {
  comparePosition,
  formatPosition,
  parsePosition,
  type EventPosition,
} from '../../schemas/positions/position.ts';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { Backoff } from '../../common/retry.ts';
import type { ApplyOptions, ApplyResult, EventFailure, Sink, SourceTransaction } from './sink.ts';
import type { SqlDialect, TableShape, TargetConnection } from './sql-dialect.ts';
import { RowWriter, type WindowWrite, type WriteEachOutcome } from './row-writer.ts';
import { OneInFlight } from './one-in-flight.ts';
import { MissingRows, type MissingRowCount } from './missing-rows.ts';
import { ConflictWriter } from './conflicts/conflict-writer.ts';
import type { ConflictCount } from './conflicts/conflict-counts.ts';
import type { ConflictSettings } from './conflicts/types.ts';
import type { OriginMarkWriter } from './origin-marks.ts';

import { CheckedWrites } from './checked-writes.ts';
import { SchemaGate } from './schema-check/schema-gate.ts';
import { SAVEPOINT, sql, type Item, type Progress } from './sink-progress.ts';
import { positionRow, positionRows } from './position-rows.ts';
import { stopsApplying } from './target-errors.ts';

/** How many applies after an update missed its row in a window write one change at a time. */
const SERIAL_APPLIES_AFTER_MISS = 20;

/** An update in a window found no row: the target transaction is rolled back and written one change at a time. */
class MissedRow extends Error {}

export class SqlSink<C extends TargetConnection> implements Sink {
  private readonly dialect: SqlDialect<C>;
  private readonly logger: Logger;
  private readonly writer: RowWriter;
  private readonly missing = new MissingRows();
  /** Tables whose schema fails the DDL check are refused before any DDL, their events handed over as failures. */
  private readonly schemas: SchemaGate;
  /** Conflict detection and resolution, when the link has it on; otherwise the plain fast path. */
  private readonly conflicts: ConflictWriter<C> | null;
  /** The write path with conflict handling; null without it. */
  private readonly checked: CheckedWrites<C> | null;
  /** Marker-row origin marking (origin-marks.ts), where the target refuses native marking. */
  private readonly originMarks: OriginMarkWriter | null;
  /** Per stream, the position this sink last wrote or read from the target. */
  private readonly positions = new Map<string, EventPosition | null>();
  /**
   * The position of a COMMIT sent whose answer never came (the connection broke): whether it took is read back
   * from the replica before the stream applies again (settle).
   */
  private readonly inflight = new Map<string, EventPosition>();
  private connection: C | null = null;
  /** Set when a rollback failed: the session is replaced before the next use. */
  private broken = false;
  private prepared = false;
  /**
   * Applies left that write changes one at a time rather than in windows: set after an update found no row in
   * a window (a snapshot still copying, a replica behind), where windows would be rolled back again and again.
   */
  private serialApplies = 0;

  constructor(
    dialect: SqlDialect<C>,
    logger: Logger = silentLogger,
    conflicts?: ConflictSettings,
    originMarks?: OriginMarkWriter,
  ) {
    this.dialect = dialect;
    this.logger = logger.child({ component: dialect.name });
    this.writer = new RowWriter(dialect.syntax, this.missing);
    this.schemas = new SchemaGate(dialect.schemaRules, this.logger);
    if (conflicts && !dialect.conflicts)
      throw new CdcError(
        'CONFIG_INVALID',
        `conflict handling is not available on a ${dialect.name} target (it needs per-row commit time and origin; see docs/conflicts.md)`,
      );
    if (conflicts && originMarks)
      throw new CdcError(
        'CONFIG_INVALID',
        'conflict handling needs native origin marking: a marker row leaves no per-row origin and commit time to compare versions by (see docs/conflicts.md)',
      );
    this.originMarks = originMarks ?? null;
    this.conflicts =
      conflicts && dialect.conflicts
        ? new ConflictWriter(dialect.syntax, dialect.conflicts, conflicts, this.logger)
        : null;
    this.checked =
      this.conflicts &&
      new CheckedWrites(this.conflicts, {
        shapeFor: (connection, progress, event) => this.shapeFor(connection, progress, event),
        commit: (connection, progress) => this.commit(connection, progress),
        classifyEvent: (error, event) => this.classifyEvent(error, event),
        lookup: (table) => this.dialect.shapes.lookup(table),
        discardPending: () => this.dialect.shapes.discardPending(),
        writePlain: (connection, shape, event) => this.writer.write(connection, shape, event),
      });
  }

  /** Conflicts detected, per table, kind, policy and outcome, since the sink was created. */
  conflictCounts(): readonly ConflictCount[] {
    return this.conflicts?.counts.counts() ?? [];
  }

  /**
   * The most a change's commit time was ahead of the target's clock lately, in ms (its origin's clock runs
   * ahead, which skews last-writer-wins); null without conflict handling, where it is not measured.
   */
  clockSkewMillis(): number | null {
    return this.conflicts?.skew.aheadMillis() ?? null;
  }

  /** Updates and deletes that found no row, per table and operation, since the sink was created. */
  missingRows(): readonly MissingRowCount[] {
    return this.missing.counts();
  }

  async prepare(): Promise<void> {
    await this.conflicts?.prepare();
    // Several links into one database start together (a mesh) and run the same idempotent DDL at once;
    // PostgreSQL can refuse one of two concurrent CREATE ... IF NOT EXISTS / OR REPLACE ("tuple concurrently
    // updated", a unique violation in its catalog). Running it again settles it; a lasting failure still fails.
    const backoff = new Backoff({ initialMs: 50, maxMs: 1_000 });
    for (;;) {
      const connection = await this.connect();
      try {
        for (const text of this.dialect.positions.create) await connection.run(sql(text));
        for (const text of this.originMarks?.create ?? []) await connection.run(sql(text));
        if (this.conflicts) {
          for (const text of this.dialect.conflicts?.create ?? []) await connection.run(sql(text));
          await this.conflicts.protectLocalTables(connection);
        }
        this.prepared = true;
        return;
      } catch (error) {
        const failure = this.classify(
          error,
          'cannot create the applied-position table cdc_apply.applied_position (or the conflict log and tombstones)',
        );
        if (failure.retriable || backoff.attempts >= 5) throw failure;
        this.logger.debug(
          { err: failure },
          'creating the sink tables raced another session; running it again',
        );
        await Backoff.sleep(backoff.next(), AbortSignal.timeout(5_000));
      }
    }
  }

  async appliedPosition(
    stream: string,
    options: { readonly fresh?: boolean } = {},
  ): Promise<EventPosition | null> {
    if (!options.fresh && this.positions.has(stream)) return this.positions.get(stream) ?? null;
    const connection = await this.connect();
    try {
      const position = await this.readPosition(connection, stream, false);
      this.positions.set(stream, position);
      return position;
    } catch (error) {
      throw this.classify(error, `cannot read the applied position of stream ${stream}`);
    }
  }

  async apply(
    stream: string,
    transactions: readonly SourceTransaction[],
    options: ApplyOptions = {},
  ): Promise<ApplyResult> {
    if (!this.prepared) await this.prepare();
    // Dead-letter replay keeps its own position (ApplyOptions.positionKey); origin marking follows the stream.
    const key = options.positionKey ?? stream;
    await this.settle(key);
    const { fresh, skipped } = freshEvents(transactions, await this.appliedPosition(key));
    const last = fresh.at(-1)?.event;
    if (!last) return { applied: 0, skipped, failed: 0, position: null, commitTimeMicros: null };

    const connection = await this.connect();
    try {
      await this.dialect.prepareStream(connection, stream, options.partition);
      // A refused table's user types are not created either: they come from the same untrusted schema.
      const tables = this.schemas.accepted(new Set(fresh.map((item) => item.event.table)));
      await this.dialect.shapes.ensureTypes(connection, tables);
    } catch (error) {
      throw this.classify(error, `cannot prepare the target for the tables of ${stream}`);
    }
    const progress: Progress = { stream: key, link: stream, last, open: false, handled: null };
    const serial = this.serialApplies > 0;
    if (serial) this.serialApplies--;
    let failed = 0;
    try {
      if (this.checked)
        failed = await this.checked.write(connection, progress, fresh, options.onEventFailure);
      else
        for (const run of markRuns(fresh, this.dialect)) {
          await this.commit(connection, progress);
          progress.last = run.at(-1)!.event;
          if (options.onEventFailure)
            failed += await this.writeIsolated(connection, progress, run, options.onEventFailure);
          else await this.writeBatch(connection, progress, run, serial);
        }
      await this.commit(connection, progress);
    } catch (error) {
      await this.rollback(connection, progress);
      if (error instanceof MissedRow) {
        // Rolled back whole (or, past a commit a DDL forced, from there: the applied position says where).
        this.serialApplies = SERIAL_APPLIES_AFTER_MISS;
        return this.apply(stream, transactions, options);
      }
      if (error instanceof CdcError) throw error;
      throw this.classifyBatch(
        error,
        fresh.map((item) => item.event),
      );
    }
    return {
      applied: fresh.length - failed,
      skipped,
      failed,
      position: last.source.position,
      commitTimeMicros: last.source.commitTimeMicros,
    };
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.close();
  }

  /**
   * Changes go out as windows of statements (RowWriter.window: each change its own statement, consecutive
   * inserts of one table one multi-row statement) handed to the connection together; insert groups too large
   * for one statement go through RowWriter.insert. `serial` writes each change, or each insert group, on its
   * own instead. Anything failing fails the target transaction; an update finding no row in a window throws
   * MissedRow.
   *
   * A window goes to the connection before the answers to the one before it are awaited, so the target runs
   * one window while the next is built. Every other step (a large insert, DDL, the commit) waits for the window
   * in flight first, and the first failure in order is the one thrown: a failure or a miss rolls the whole
   * target transaction back, the window sent after it included.
   */
  private async writeBatch(
    connection: C,
    progress: Progress,
    items: readonly Item[],
    serial: boolean,
  ): Promise<void> {
    const events = items.map((item) => item.event);
    const windows = new OneInFlight();
    try {
      await this.writeItems(connection, progress, events, serial, windows);
      await windows.settle();
    } finally {
      // Nothing of this batch is still running on the connection once it returned or threw.
      await windows.drain();
    }
  }

  /** writeBatch's steps; the window in flight is left in `windows` for the caller to settle. */
  private async writeItems(
    connection: C,
    progress: Progress,
    events: readonly ChangeEvent[],
    serial: boolean,
    windows: OneInFlight,
  ): Promise<void> {
    const shapeOf = (event: ChangeEvent): TableShape | null => this.dialect.shapes.lookup(event.table);
    const known = (next: ChangeEvent) => (this.schemas.refusal(next.table) ? null : shapeOf(next));
    let start = 0;
    while (start < events.length) {
      const event = events[start]!;
      // A known table in an open transaction needs no statement before its own; anything else settles first.
      let shape = progress.open && !serial ? known(event) : null;
      if (!shape) {
        await windows.settle();
        shape = await this.shapeFor(connection, progress, event);
      }
      const window = serial ? [] : this.writer.window(events, start, shape, known);
      if (window.length > 0) {
        await windows.pass(this.answered(window, this.writer.writeEach(connection, window), progress));
        start += window.reduce((count, write) => count + write.events.length, 0);
        continue;
      }
      await windows.settle();
      const end = this.writer.groupEnd(events, start, shape, shapeOf);
      try {
        if (event.op === 'c' || event.op === 'r')
          await this.writer.insert(connection, shape, events.slice(start, end));
        else await this.writer.write(connection, shape, event);
      } catch (error) {
        throw end - start === 1 ? this.classifyEvent(error, event) : error;
      }
      progress.handled = events[end - 1]!;
      start = end;
    }
  }

  /** Waits for a window's answers: its last change is then handled, or the first failure is thrown. */
  private async answered(
    window: readonly WindowWrite[],
    outcome: Promise<WriteEachOutcome>,
    progress: Progress,
  ): Promise<void> {
    const answer = await outcome;
    if (answer.kind === 'failed') {
      const failed = window[answer.index]!.events;
      // A multi-row insert's failure names no one row: the caller classifies it for the whole batch.
      throw failed.length === 1 ? this.classifyEvent(answer.error, failed[0]!) : answer.error;
    }
    if (answer.kind === 'missed') throw new MissedRow();
    progress.handled = window.at(-1)!.events.at(-1)!;
  }

  /** Each event under a savepoint; a failing one is rolled back alone and handed over. Returns how many failed. */
  private async writeIsolated(
    connection: C,
    progress: Progress,
    items: readonly Item[],
    onEventFailure: (failure: EventFailure) => Promise<void>,
  ): Promise<number> {
    let failed = 0;
    for (const item of items) {
      try {
        // DDL that commits implicitly cannot sit under a savepoint: it runs first, between transactions.
        const early = this.dialect.ddlCommitsImplicitly
          ? await this.shapeFor(connection, progress, item.event)
          : null;
        await this.begin(connection, progress);
        await connection.run(sql(`SAVEPOINT ${SAVEPOINT}`));
        try {
          const shape = early ?? (await this.shapeFor(connection, progress, item.event));
          await this.writer.write(connection, shape, item.event);
        } catch (error) {
          const failure = this.classifyEvent(error, item.event);
          if (!failure.retriable) {
            await connection.run(sql(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`));
            this.dialect.shapes.discardPending();
          }
          throw failure;
        }
        await connection.run(sql(`RELEASE SAVEPOINT ${SAVEPOINT}`));
      } catch (error) {
        const failure = this.classifyEvent(error, item.event);
        if (failure.retriable || stopsApplying(failure)) throw failure;
        failed++;
        await onEventFailure({ ...item, error: failure });
        await this.begin(connection, progress);
      }
      progress.handled = item.event;
    }
    return failed;
  }

  /** The event's table shape, created or evolved when needed, with a target transaction open. */
  private async shapeFor(connection: C, progress: Progress, event: ChangeEvent): Promise<TableShape> {
    const refusal = this.schemas.refusal(event.table);
    if (refusal) throw refusal;
    let shape = this.dialect.shapes.lookup(event.table);
    if (!shape) {
      if (this.dialect.ddlCommitsImplicitly) await this.commit(connection, progress);
      else await this.begin(connection, progress);
      shape = await this.dialect.shapes.ensure(connection, event.table);
    }
    await this.begin(connection, progress);
    return shape;
  }

  /**
   * Opens a target transaction and takes the stream's position row lock: a stored position ahead of the one
   * this sink last wrote or read means another worker applied the stream meanwhile.
   */
  private async begin(connection: C, progress: Progress): Promise<void> {
    if (progress.open) return;
    await connection.run(sql('START TRANSACTION'));
    progress.open = true;
    const stored = await this.readPosition(connection, progress.stream, true);
    const mine = this.positions.get(progress.stream) ?? null;
    if (stored !== null && (mine === null || comparePosition(stored, mine) > 0))
      throw staleWorker(progress.stream, stored, mine);
    await this.dialect.afterBegin(connection, progress.last);
    // The first write of the transaction, so capture of the target knows its origin from its first event on.
    // It names the mark native marking would commit under (the dialect's, for a relayed change), so capture
    // rules need nothing new.
    if (this.originMarks)
      await connection.run(
        this.originMarks.mark(
          progress.link,
          progress.last,
          this.dialect.markOf?.(progress.last) || undefined,
        ),
      );
  }

  /**
   * After a COMMIT whose answer was lost: the replica holds either that commit's position (it took) or the one
   * before (it did not). Anything else was written by another worker meanwhile. A new connection therefore
   * keeps what this sink knew, so a stale worker cannot pass for a fresh one by reconnecting.
   */
  private async settle(stream: string): Promise<void> {
    const sent = this.inflight.get(stream);
    if (sent === undefined) return;
    const connection = await this.connect();
    let stored: EventPosition | null;
    try {
      stored = await this.readPosition(connection, stream, false);
    } catch (error) {
      throw this.classify(error, `cannot read the applied position of stream ${stream}`);
    }
    const mine = this.positions.get(stream) ?? null;
    this.inflight.delete(stream);
    if (stored !== null && comparePosition(stored, sent) === 0) this.positions.set(stream, stored);
    else if (!(stored === null ? mine === null : mine !== null && comparePosition(stored, mine) === 0))
      throw staleWorker(stream, stored ?? sent, mine);
  }

  /** Writes the position of the last event handled and commits; nothing to do when no transaction is open. */
  private async commit(connection: C, progress: Progress): Promise<void> {
    if (!progress.open) return;
    const handled = progress.handled;
    if (handled) {
      await connection.run(
        this.dialect.positions.write(
          positionRow(progress.stream, this.dialect.positionScope),
          formatPosition(handled.source.position),
          handled.source.commitTimeMicros,
        ),
      );
    }
    if (handled) this.inflight.set(progress.stream, handled.source.position);
    await connection.run(sql('COMMIT'));
    this.inflight.delete(progress.stream);
    progress.open = false;
    progress.handled = null;
    this.dialect.shapes.commit();
    this.missing.commit();
    this.conflicts?.commit();
    if (handled) this.positions.set(progress.stream, handled.source.position);
  }

  private async rollback(connection: C, progress: Progress): Promise<void> {
    progress.handled = null;
    this.dialect.shapes.discardPending();
    this.missing.discard();
    this.conflicts?.discard();
    if (!progress.open || connection.broken) return;
    progress.open = false;
    try {
      await connection.run(sql('ROLLBACK'));
    } catch (error) {
      // The connection cannot even roll back: use a new one next time (the server rolls back with the session).
      this.broken = true;
      this.logger.warn({ err: error }, 'rollback failed; reconnecting');
    }
  }

  private async readPosition(connection: C, stream: string, locked: boolean): Promise<EventPosition | null> {
    for (const row of positionRows(stream, this.dialect.positionScope)) {
      const result = await connection.run(this.dialect.positions.read(row, locked));
      const text = result.rows[0]?.position;
      if (typeof text === 'string') return parsePosition(text);
    }
    return null;
  }

  private async connect(): Promise<C> {
    if (this.connection && !this.connection.broken && !this.broken) return this.connection;
    if (this.connection) {
      const old = this.connection;
      this.connection = null;
      // The old session is already gone; closing it only releases the socket, and its error says nothing new.
      await old
        .close()
        .catch((error: unknown) =>
          this.logger.debug({ err: error }, 'closing a broken target connection failed'),
        );
    }
    const connection = await this.dialect.connect();
    this.connection = connection;
    this.broken = false;
    this.dialect.shapes.reset();
    return connection;
  }

  private classify(error: unknown, message: string): CdcError {
    return this.dialect.classify(error, message, {}, this.isBroken());
  }

  private classifyEvent(error: unknown, event: ChangeEvent): CdcError {
    if (error instanceof CdcError) return error;
    const position = formatPosition(event.source.position);
    const table = this.dialect.targetName(event.table);
    return this.dialect.classify(
      error,
      `cannot apply ${opName(event)} at ${position} to ${table}${this.dialect.failureNote(error, event)}`,
      { table, position },
      this.isBroken(),
    );
  }

  private classifyBatch(error: unknown, events: readonly ChangeEvent[]): CdcError {
    const first = formatPosition(events[0]!.source.position);
    const last = formatPosition(events.at(-1)!.source.position);
    return this.dialect.classify(
      error,
      `cannot apply events ${first} .. ${last}`,
      { from: first, to: last },
      this.isBroken(),
    );
  }

  private isBroken(): boolean {
    return this.broken || (this.connection?.broken ?? false);
  }
}

/** The events after `floor`, in order: a redelivery at or before the stored position is skipped. */
function freshEvents(
  transactions: readonly SourceTransaction[],
  floor: EventPosition | null,
): { fresh: Item[]; skipped: number } {
  const fresh: Item[] = [];
  let skipped = 0;
  transactions.forEach((transaction, transactionIndex) => {
    transaction.events.forEach((event, eventIndex) => {
      if (floor !== null && comparePosition(event.source.position, floor) <= 0) {
        skipped++;
        return;
      }
      floor = event.source.position;
      fresh.push({ event, transactionIndex, eventIndex });
    });
  });
  return { fresh, skipped };
}

/**
 * The items cut where the dialect's commit mark changes (at source-transaction boundaries, one mark per source
 * transaction): a target transaction commits under one mark, so each run gets its own. One run without marks.
 */
function markRuns(items: readonly Item[], dialect: { markOf?(event: ChangeEvent): string }): Item[][] {
  if (dialect.markOf === undefined) return [[...items]];
  const runs: Item[][] = [];
  let mark: string | undefined;
  for (const item of items) {
    const current = runs.at(-1);
    const next = dialect.markOf(item.event);
    if (
      current === undefined ||
      (next !== mark && current.at(-1)!.transactionIndex !== item.transactionIndex)
    )
      runs.push([item]);
    else current.push(item);
    mark = next;
  }
  return runs;
}

function opName(event: ChangeEvent): string {
  return { c: 'insert', r: 'snapshot read', u: 'update', d: 'delete', t: 'truncate' }[event.op];
}

function staleWorker(stream: string, stored: EventPosition, mine: EventPosition | null): CdcError {
  return new CdcError(
    'APPLY_STALE_WORKER',
    `apply of stream ${stream} stopped: the replica's applied position ${formatPosition(stored)} is ahead of ${mine === null ? 'nothing applied' : formatPosition(mine)}, the last this worker wrote or read; another worker has applied the stream meanwhile, so this one applies nothing of what it holds`,
    { stream, stored: formatPosition(stored), expected: mine && formatPosition(mine) },
  );
}
