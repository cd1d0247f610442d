/**
 * Writes change events into target tables inside the caller's open transaction. Consecutive inserts (and
 * consecutive snapshot reads) of one table go out as multi-row statements, cut by row count and by size so
 * a statement stays well under max_allowed_packet.
 */
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import { deleteRow, insertRows, oldRow, truncateTable, updateRow, type Statement } from './statements.ts';
import type { TableShape } from './table-shapes.ts';

const MAX_ROWS_PER_INSERT = 1_000;
/** max_allowed_packet is 16 MiB by default on MariaDB 10.11 and 64 MiB on MySQL 8: stay far below either. */
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

export class RowWriter {
  private connection: Connection | null = null;

  /** Binds the writer to a (new) connection. */
  attach(connection: Connection): void {
    this.connection = connection;
  }

  /** Inserts rows of one table; snapshot reads (`r`) as upserts, so a re-read row replaces what is there. */
  async insertGroup(shape: TableShape, events: readonly ChangeEvent[]): Promise<void> {
    const upsert = events[0]?.op === 'r';
    let slice: Row[] = [];
    let bytes = 0;
    for (const event of events) {
      const row = event.after ?? {};
      const size = rowSize(row);
      if (slice.length > 0 && (slice.length >= MAX_ROWS_PER_INSERT || bytes + size > MAX_STATEMENT_BYTES)) {
        await this.run(insertRows(shape.table, shape.sql, slice, upsert));
        slice = [];
        bytes = 0;
      }
      slice.push(row);
      bytes += size;
    }
    if (slice.length > 0) await this.run(insertRows(shape.table, shape.sql, slice, upsert));
  }

  /** Writes one event on its own. */
  async write(shape: TableShape, event: ChangeEvent): Promise<void> {
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
        // The connection reports matched rows (CLIENT_FOUND_ROWS), so an update to equal values counts too.
        const result = await this.run(statement);
        if (result.affectedRows === 0) {
          throw new CdcError(
            'APPLY_FAILED',
            `update at ${formatPosition(event.source.position)} found no row in ${shape.sql} with ${describe(shape, old)}`,
            { table: shape.sql, position: formatPosition(event.source.position) },
          );
        }
        return;
      }
      case 'd': {
        const old = oldRow(shape.table, event.before, null);
        if (!old) throw noRowIdentity(event, shape);
        // A delete of a row the replica does not have leaves it as the source is: nothing to report.
        await this.run(deleteRow(shape.table, shape.sql, old));
        return;
      }
      case 't':
        await this.run(truncateTable(shape.sql));
        return;
    }
  }

  private async run(statement: Statement): Promise<ResultSetHeader> {
    if (!this.connection)
      throw new CdcError('INTERNAL', 'row writer used before a connection was attached', {});
    const [result] = await this.connection.query<ResultSetHeader>(statement.text, statement.values);
    return result;
  }
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
