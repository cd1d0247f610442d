/**
 * What the sink does when an update or a delete finds no row on the replica, the same on every target, and
 * decided here only (the multi-master work turns it into a configurable conflict policy):
 *
 * - an update whose row is missing is inserted from `after` when the event carries every column (during a
 *   snapshot the stream can overtake the chunk that copies the row; the chunk's upsert then lands on it, as
 *   upsert sinks do). Without every column (unchanged TOAST) the row cannot be rebuilt: the event fails,
 *   naming the missing row and the columns the source did not send, and goes to the dead letters;
 * - a delete whose row is missing changes nothing: the replica already is as the source.
 *
 * Each case is counted per table and operation (`cdc_apply_missing_rows_total{table,op}`), counts taking
 * effect only when the target transaction that saw them commits, so a retried transaction counts once.
 */
import type { Row, UpdateEvent, DeleteEvent } from '../../schemas/events/change-event.ts';
import { formatPosition } from '../../schemas/positions/position.ts';
import { CdcError } from '../../common/errors.ts';
import type { TableShape } from './sql-dialect.ts';
import { unsentColumns } from './statements.ts';

export type MissingRowAction =
  | { readonly kind: 'insert'; readonly row: Row }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'fail'; readonly error: CdcError };

export function missingRowAction(
  shape: TableShape,
  event: UpdateEvent | DeleteEvent,
  old: Row,
): MissingRowAction {
  if (event.op === 'd') return { kind: 'ignore' };
  const unsent = unsentColumns(shape.table, event.after, event.unchanged);
  if (unsent.length === 0) return { kind: 'insert', row: event.after };
  const position = formatPosition(event.source.position);
  return {
    kind: 'fail',
    error: new CdcError(
      'APPLY_FAILED',
      `update at ${position} found no row in ${shape.sql} with ${describeRow(shape, old)}: the row is missing on the replica, and the update cannot insert it because the source did not send ${unsent.join(', ')} (unchanged)`,
      { table: shape.sql, position, unsent: unsent.join(', ') },
    ),
  };
}

/** The key (or, for a keyless table, every old value) that names a row in messages. */
export function describeRow(shape: TableShape, row: Row): string {
  const names = shape.table.key.length > 0 ? shape.table.key : Object.keys(row);
  return names.map((name) => `${name}=${String(row[name])}`).join(', ');
}

export interface MissingRowCount {
  /** `schema.table` of the source table. */
  readonly table: string;
  readonly op: 'update' | 'delete';
  readonly count: number;
}

/** Missing rows seen, per source table and operation; a transaction's counts join the totals on commit. */
export class MissingRows {
  private readonly totals = new Map<string, MissingRowCount>();
  private pending: MissingRowCount[] = [];

  note(shape: TableShape, op: 'update' | 'delete'): void {
    this.pending.push({ table: `${shape.table.schema}.${shape.table.table}`, op, count: 1 });
  }

  commit(): void {
    for (const seen of this.pending) {
      const key = `${seen.table}\u0000${seen.op}`;
      const total = this.totals.get(key);
      this.totals.set(key, { ...seen, count: (total?.count ?? 0) + seen.count });
    }
    this.pending = [];
  }

  discard(): void {
    this.pending = [];
  }

  counts(): MissingRowCount[] {
    return [...this.totals.values()];
  }
}
