/**
 * Writes change events into target tables inside the sink's open transaction, with the dialect's spelling.
 * Consecutive inserts (and consecutive snapshot reads) of one table go out as multi-row statements, cut by
 * row count, parameter count and size so a statement stays within what any target takes; statement shapes
 * that repeat (full insert chunks, single-row changes) are marked for reuse, so a dialect may prepare them.
 */
import type { ChangeEvent, Row } from '../../schemas/events/change-event.ts';
import { formatPosition } from '../../schemas/positions/position.ts';
import { CdcError } from '../../common/errors.ts';
import type { RunResult, Statement, StatementSyntax, TableShape, TargetConnection } from './sql-dialect.ts';
import { deleteRow, insertRows, oldRow, updateRow } from './statements.ts';
import { missingRowAction, type MissingRows } from './missing-rows.ts';
import { OneInFlight } from './one-in-flight.ts';

const MAX_ROWS_PER_INSERT = 1_000;
/** max_allowed_packet is 16 MiB by default on MariaDB 10.11 and 64 MiB on MySQL 8: stay far below either. */
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;
/** Most statements handed to the target connection at once (writeEach). */
const WINDOW_STATEMENTS = 500;
/** Multi-row inserts of a window up to this many rows are marked for reuse (a prepared statement each). */
const REUSED_GROUP_ROWS = 16;

/**
 * One statement of a window (writeEach): a change of its own, or consecutive inserts of one table that fit
 * one multi-row insert.
 */
export interface WindowWrite {
  readonly shape: TableShape;
  readonly events: readonly ChangeEvent[];
}

export type WriteEachOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'missed' }
  | { readonly kind: 'failed'; readonly index: number; readonly error: unknown };

export class RowWriter {
  private readonly syntax: StatementSyntax;
  private readonly missing: MissingRows;

  constructor(syntax: StatementSyntax, missing: MissingRows) {
    this.syntax = syntax;
    this.missing = missing;
  }

  /**
   * How far from `start` the events can go out as one insert group: the same op (insert, or snapshot read)
   * on the same table shape. An upsert may not touch one row twice in a statement, so a repeated key ends
   * a group of snapshot reads.
   */
  groupEnd(
    events: readonly ChangeEvent[],
    start: number,
    shape: TableShape,
    shapeOf: (event: ChangeEvent) => TableShape | null,
    /** Stop looking once the group has this many events (window() needs to know only whether it fits). */
    most = Infinity,
  ): number {
    const first = events[start]!;
    if (first.op !== 'c' && first.op !== 'r') return start + 1;
    const keys =
      first.op === 'r' && shape.table.key.length > 0 ? new Set([keyText(shape, first.after)]) : null;
    let end = start + 1;
    for (; end < events.length && end - start < most; end++) {
      const next = events[end]!;
      if (next.op !== first.op || shapeOf(next) !== shape) break;
      if (keys) {
        const key = keyText(shape, next.after);
        if (keys.has(key)) break;
        keys.add(key);
      }
    }
    return end;
  }

  /**
   * The changes from `start` (of `shape`) that go out as one window (writeEach): up to WINDOW_STATEMENTS
   * statements, each a change of its own or a group of inserts that fits one statement, each of a table
   * `known` already. A table to create, change or refuse ends the window, and so does an insert group too
   * large for one statement (insert() writes it); the window is empty when it starts with one.
   */
  window(
    events: readonly ChangeEvent[],
    start: number,
    shape: TableShape,
    known: (event: ChangeEvent) => TableShape | null,
  ): WindowWrite[] {
    const window: WindowWrite[] = [];
    let next = start;
    let nextShape: TableShape | null = shape;
    while (next < events.length && window.length < WINDOW_STATEMENTS) {
      if (next > start) nextShape = known(events[next]!);
      if (nextShape === null) break;
      const rows = this.rowsPerInsert(nextShape);
      const end = this.groupEnd(events, next, nextShape, known, rows + 1);
      const group = events.slice(next, end);
      if (group.length > rows || (group.length > 1 && !this.fitsOneInsert(group))) break;
      window.push({ shape: nextShape, events: group });
      next = end;
    }
    return window;
  }

  /** Inserts the rows of consecutive inserts of one table; snapshot reads (`r`) as upserts. */
  async insert(
    connection: TargetConnection,
    shape: TableShape,
    events: readonly ChangeEvent[],
  ): Promise<void> {
    const upsert = events[0]?.op === 'r';
    const perStatement = this.rowsPerInsert(shape);
    let slice: Row[] = [];
    let bytes = 0;
    // One statement runs on the target while the next is built.
    const statements = new OneInFlight();
    const flush = async (): Promise<void> => {
      const statement = insertRows(this.syntax, shape.table, shape.sql, slice, upsert);
      const reusable = slice.length === perStatement || slice.length === 1;
      slice = [];
      bytes = 0;
      await statements.pass(this.run(connection, shape, statement, reusable));
    };
    try {
      for (const event of events) {
        const row = event.after ?? {};
        const size = rowSize(row);
        if (slice.length > 0 && (slice.length >= perStatement || bytes + size > MAX_STATEMENT_BYTES))
          await flush();
        slice.push(row);
        bytes += size;
      }
      if (slice.length > 0) await flush();
      await statements.settle();
    } finally {
      // Nothing of this group is still running on the connection once it returned or threw.
      await statements.drain();
    }
  }

  /**
   * Writes a window (window()), every statement handed to the connection before the first answer is awaited:
   * a pipelining connection sends them in one go instead of a round trip each. Answers, once every statement
   * settled:
   * - `failed`: the first statement (in order) that failed, or whose event carries no row identity;
   * - `missed`: an update found no row. What the statements after it did may depend on that row, so the
   *   caller rolls the target transaction back and writes the changes one at a time (write()), which handles
   *   missing rows in order;
   * - `done`: everything was written; deletes that found no row are counted.
   */
  async writeEach(connection: TargetConnection, writes: readonly WindowWrite[]): Promise<WriteEachOutcome> {
    const answers: (Promise<RunResult> | null)[] = [];
    let unidentified = null as { index: number; error: CdcError } | null;
    const submit = (): void => {
      for (const [index, { shape, events }] of writes.entries()) {
        const statement =
          events.length === 1
            ? this.statementOf(shape, events[0]!)
            : insertRows(
                this.syntax,
                shape.table,
                shape.sql,
                events.map((event) => event.after ?? {}),
                events[0]!.op === 'r',
              );
        if (statement instanceof CdcError) {
          unidentified = { index, error: statement };
          return;
        }
        // Small groups repeat their shape (and so their text) often enough to be worth preparing; so do full
        // ones, as in insert().
        const reusable = events.length <= REUSED_GROUP_ROWS || events.length === this.rowsPerInsert(shape);
        // Settled together below, in the same turn: a rejection is always handled.
        answers.push(statement && this.run(connection, shape, statement, reusable));
      }
    };
    if (connection.together) connection.together(submit);
    else submit();
    const settled = await Promise.allSettled(answers.map((answer) => answer ?? Promise.resolve(null)));
    const deletesMissed: TableShape[] = [];
    for (const [index, outcome] of settled.entries()) {
      if (outcome.status === 'rejected') return { kind: 'failed', index, error: outcome.reason };
      const { shape, events } = writes[index]!;
      if (outcome.value === null || outcome.value.count > 0) continue;
      if (events[0]!.op === 'u') return { kind: 'missed' };
      if (events[0]!.op === 'd') deletesMissed.push(shape);
    }
    if (unidentified) return { kind: 'failed', ...unidentified };
    for (const shape of deletesMissed) this.missing.note(shape, 'delete');
    return { kind: 'done' };
  }

  /** Rows one multi-row insert of the table takes at most (by row count and by parameter count). */
  private rowsPerInsert(shape: TableShape): number {
    const byParameters = Math.floor(this.syntax.maxParameters / Math.max(1, shape.table.columns.length));
    return Math.max(1, Math.min(MAX_ROWS_PER_INSERT, byParameters));
  }

  /** Whether the rows of a group stay within one statement's size (its row count checked apart). */
  private fitsOneInsert(events: readonly ChangeEvent[]): boolean {
    let bytes = 0;
    for (const event of events) bytes += rowSize(event.after ?? {});
    return bytes <= MAX_STATEMENT_BYTES;
  }

  /** The one statement of a change (null: an update with nothing to set), or why there can be none. */
  private statementOf(shape: TableShape, event: ChangeEvent): Statement | null | CdcError {
    switch (event.op) {
      case 'c':
      case 'r':
        return insertRows(this.syntax, shape.table, shape.sql, [event.after], event.op === 'r');
      case 'u':
      case 'd': {
        const old = oldRow(shape.table, event.before, event.op === 'u' ? event.after : null);
        if (!old) return noRowIdentity(event, shape);
        return event.op === 'u'
          ? updateRow(this.syntax, shape.table, shape.sql, old, event.after, event.unchanged)
          : deleteRow(this.syntax, shape.table, shape.sql, old);
      }
      case 't':
        return { text: this.syntax.truncate(shape.sql), values: [] };
    }
  }

  /** Writes one event on its own. */
  async write(connection: TargetConnection, shape: TableShape, event: ChangeEvent): Promise<void> {
    switch (event.op) {
      case 'c':
      case 'r':
        await this.insert(connection, shape, [event]);
        return;
      case 'u':
      case 'd': {
        const statement = this.statementOf(shape, event);
        if (statement instanceof CdcError) throw statement;
        if (!statement) return;
        const result = await this.run(connection, shape, statement, true);
        if (result.count > 0) return;
        this.missing.note(shape, event.op === 'u' ? 'update' : 'delete');
        const old = oldRow(shape.table, event.before, event.op === 'u' ? event.after : null)!;
        const action = missingRowAction(shape, event, old);
        if (action.kind === 'fail') throw action.error;
        if (action.kind === 'insert')
          await this.run(
            connection,
            shape,
            insertRows(this.syntax, shape.table, shape.sql, [action.row], true),
            true,
          );
        return;
      }
      case 't':
        await this.run(connection, shape, { text: this.syntax.truncate(shape.sql), values: [] }, true);
        return;
    }
  }

  private run(connection: TargetConnection, shape: TableShape, statement: Statement, reusable: boolean) {
    return connection.run(statement, reusable ? `${shape.epoch}\u0000${statement.text}` : undefined);
  }
}

function keyText(shape: TableShape, row: Row | null): string {
  return JSON.stringify(
    shape.table.key.map((name) => {
      const value = row?.[name] ?? null;
      return value instanceof Uint8Array
        ? Buffer.from(value).toString('hex')
        : typeof value === 'bigint'
          ? value.toString()
          : value;
    }),
  );
}

/** A rough size of a row in statement text: enough to keep multi-row statements bounded. */
function rowSize(row: Row): number {
  let size = 16;
  for (const value of Object.values(row)) {
    if (typeof value === 'string') size += value.length * 2 + 4;
    else if (value instanceof Uint8Array) size += value.length * 2 + 4;
    else if (Array.isArray(value))
      size += JSON.stringify(value, (_k, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? v.length * 2 : v,
      ).length;
    else size += 24;
  }
  return size;
}

function noRowIdentity(event: ChangeEvent, shape: TableShape): CdcError {
  return new CdcError(
    'APPLY_FAILED',
    `${event.op === 'u' ? 'update' : 'delete'} at ${formatPosition(event.source.position)} on ${shape.sql} carries no old row or key to find the row by`,
    { table: shape.sql, position: formatPosition(event.source.position) },
  );
}
