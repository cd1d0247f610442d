/** A canonical string for a row's key values, so a snapshot row and a streamed change of it compare equal. */
import type { Row, Value } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';

export function keyString(table: TableSchema, row: Row): string | null {
  if (table.key.length === 0) return null;
  const parts: unknown[] = [];
  for (const column of table.key) {
    if (!(column in row)) return null;
    parts.push(canonical(row[column] ?? null));
  }
  return JSON.stringify(parts);
}

function canonical(value: Value): unknown {
  if (typeof value === 'bigint') return `n:${value}`;
  if (value instanceof Uint8Array) return `b:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map((item: Value) => canonical(item));
  return value;
}

/** A canonical string for all of a row's columns: how rows of a table without a key are told apart. */
export function rowString(table: TableSchema, row: Row): string | null {
  const parts: unknown[] = [];
  for (const column of table.columns) {
    if (!(column.name in row)) return null;
    parts.push(canonical(row[column.name] ?? null));
  }
  return JSON.stringify(parts);
}
