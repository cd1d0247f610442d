/**
 * Writes change events into target tables inside the caller's open transaction. Consecutive inserts (and
 * consecutive snapshot reads) of one table go out as one multi-row statement; statements that repeat are
 * prepared once per connection.
 */
import type pg from 'pg';
import type { ChangeEvent, Row, UpdateEvent } from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import type { TableShapes, TableShape } from './table-shapes.ts';
import {
  deleteRow,
  insertRows,
  oldRow,
  truncateTable,
  unsentColumns,
  updateRow,
  type Statement,
} from './statements.ts';

/** PostgreSQL accepts at most 65535 parameters per statement. */
const MAX_PARAMETERS = 65_535;
const MAX_ROWS_PER_INSERT = 1_000;
const MAX_PREPARED = 2_000;

export class RowWriter {
  private readonly shapes: TableShapes;
  private client: pg.Client | null = null;
  private readonly prepared = new Map<string, string>();

  constructor(shapes: TableShapes) {
    this.shapes = shapes;
  }

  /** Binds the writer to a (new) connection; statements prepared on an earlier one are gone with it. */
  attach(client: pg.Client): void {
    this.client = client;
    this.prepared.clear();
  }

  /** Writes events in order, grouping consecutive inserts and consecutive snapshot reads of one table. */
  async writeAll(events: readonly ChangeEvent[]): Promise<void> {
    let i = 0;
    while (i < events.length) {
      const event = events[i]!;
      if (event.op === 'c' || event.op === 'r') {
        const shape = await this.shape(event);
        const group: ChangeEvent[] = [event];
        const keys =
          event.op === 'r' && shape.table.key.length > 0 ? new Set([keyText(shape, event.after)]) : null;
        let j = i + 1;
        for (; j < events.length; j++) {
          const next = events[j]!;
          if (next.op !== event.op || this.shapes.lookup(next.table) !== shape) break;
          // An upsert statement may not touch one row twice: a repeated key starts a new statement.
          if (keys) {
            const key = keyText(shape, next.after);
            if (keys.has(key)) break;
            keys.add(key);
          }
          group.push(next);
        }
        await this.insertGroup(shape, group);
        i = j;
      } else {
        await this.write(event);
        i++;
      }
    }
  }

  /** Writes one event on its own. */
  async write(event: ChangeEvent): Promise<void> {
    const shape = await this.shape(event);
    switch (event.op) {
      case 'c':
      case 'r':
        await this.insertGroup(shape, [event]);
        return;
      case 'u': {
        const old = oldRow(shape.table, event.before, event.after);
        if (!old) throw noRowIdentity(event, shape);
        const statement = updateRow(shape.table, shape.sql, old, event.after, event.unchanged);
        if (!statement) return;
        const result = await this.run(shape, statement);
        if (result.rowCount === 0) await this.insertMissing(shape, event, old);
        return;
      }
      case 'd': {
        const old = oldRow(shape.table, event.before, null);
        if (!old) throw noRowIdentity(event, shape);
        // A delete of a row the replica does not have leaves it as the source is: nothing to report.
        await this.run(shape, deleteRow(shape.table, shape.sql, old));
        return;
      }
      case 't':
        await this.run(shape, truncateTable(shape.sql));
        return;
    }
  }

  /**
   * An update found no row. During a snapshot the stream can overtake the copy of that row (the chunk is
   * written at its HIGH watermark, after the window's changes), so an update that carries every column is
   * inserted, as upsert sinks do; the chunk's copy then lands on it. Without every column the row cannot be
   * rebuilt from the event: that stays an error naming what the source did not send.
   */
  private async insertMissing(shape: TableShape, event: UpdateEvent, old: Row): Promise<void> {
    const unsent = unsentColumns(shape.table, event.after, event.unchanged);
    if (unsent.length > 0) {
      throw new CdcError(
        'APPLY_FAILED',
        `update at ${formatPosition(event.source.position)} found no row in ${shape.sql} with ${describe(shape, old)}: the row is missing on the replica, and the update cannot insert it because the source did not send ${unsent.join(', ')} (unchanged)`,
        { table: shape.sql, position: formatPosition(event.source.position), unsent: unsent.join(', ') },
      );
    }
    await this.run(shape, insertRows(shape.table, shape.sql, [event.after], true));
  }

  private async shape(event: ChangeEvent): Promise<TableShape> {
    return this.shapes.lookup(event.table) ?? (await this.shapes.ensure(this.connected(), event.table));
  }

  private async insertGroup(shape: TableShape, events: readonly ChangeEvent[]): Promise<void> {
    const rows: Row[] = events.map((event) => event.after ?? {});
    const upsert = events[0]!.op === 'r';
    const perStatement = Math.max(
      1,
      Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / Math.max(1, shape.table.columns.length))),
    );
    for (let start = 0; start < rows.length; start += perStatement) {
      const slice = rows.slice(start, start + perStatement);
      await this.run(
        shape,
        insertRows(shape.table, shape.sql, slice, upsert),
        slice.length === perStatement || slice.length === 1,
      );
    }
  }

  /** Runs a statement; repeating shapes of statement (full insert chunks, single-row changes) are prepared. */
  private async run(shape: TableShape, statement: Statement, prepare = true): Promise<pg.QueryResult> {
    const client = this.connected();
    if (!prepare) return client.query(statement.text, statement.values);
    const key = `${shape.epoch}\u0000${statement.text}`;
    let name = this.prepared.get(key);
    if (name === undefined && this.prepared.size < MAX_PREPARED) {
      name = `cdc_apply_${this.prepared.size}`;
      this.prepared.set(key, name);
    }
    return name === undefined
      ? client.query(statement.text, statement.values)
      : client.query({ name, text: statement.text, values: statement.values });
  }

  private connected(): pg.Client {
    if (!this.client) throw new CdcError('INTERNAL', 'row writer used before a connection was attached', {});
    return this.client;
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

function describe(shape: TableShape, row: Row): string {
  const names = shape.table.key.length > 0 ? shape.table.key : Object.keys(row);
  return names.map((name) => `${name}=${String(row[name])}`).join(', ');
}

function noRowIdentity(event: ChangeEvent, shape: TableShape): CdcError {
  return new CdcError(
    'APPLY_FAILED',
    `${event.op === 'u' ? 'update' : 'delete'} at ${formatPosition(event.source.position)} on ${shape.sql} carries no old row or key to find the row by`,
    { table: shape.sql, position: formatPosition(event.source.position) },
  );
}
