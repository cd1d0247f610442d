/**
 * SQL for each kind of change, built from the table's schema with `?` placeholders the driver fills in.
 * Rows are found by their key columns; a table without a key finds one row by all old values (`<=>`,
 * null-safe) and touches it alone with LIMIT 1.
 */
import type { Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { ident, type Parameter } from './sql.ts';
import { toParameter } from './values.ts';

export interface Statement {
  readonly text: string;
  readonly values: Parameter[];
}

function hasAll(row: Row, names: readonly string[]): boolean {
  return names.every((name) => Object.hasOwn(row, name) && row[name] !== undefined);
}

function locate(table: TableSchema, old: Row, values: Parameter[]): { where: string; limit: string } {
  if (table.key.length > 0) {
    const where = table.key.map((name) => {
      const column = table.columns.find((c) => c.name === name) ?? {
        name,
        type: { kind: 'text' },
        sourceType: 'text',
        nullable: false,
      };
      values.push(toParameter(old[name], column, table));
      return `${ident(name)} = ?`;
    });
    return { where: where.join(' AND '), limit: '' };
  }
  const conditions = table.columns
    .filter((column) => Object.hasOwn(old, column.name) && old[column.name] !== undefined)
    .map((column) => {
      values.push(toParameter(old[column.name], column, table));
      return `${ident(column.name)} <=> ?`;
    });
  return { where: conditions.length > 0 ? conditions.join(' AND ') : 'TRUE', limit: ' LIMIT 1' };
}

/** The old row an update or delete identifies its row by: `before` when it carries the key, else `after`. */
export function oldRow(table: TableSchema, before: Row | null, after: Row | null): Row | null {
  if (before && (table.key.length === 0 || hasAll(before, table.key))) return before;
  if (table.key.length > 0 && after && hasAll(after, table.key)) return after;
  return null;
}

/** `INSERT ... VALUES (...), (...)`; as an upsert, `ON DUPLICATE KEY UPDATE` every non-key column. */
export function insertRows(
  table: TableSchema,
  target: string,
  rows: readonly Row[],
  upsert: boolean,
): Statement {
  const names = table.columns.map((column) => ident(column.name));
  const tuple = `(${table.columns.map(() => '?').join(', ')})`;
  const values: Parameter[] = [];
  for (const row of rows) {
    for (const column of table.columns) values.push(toParameter(row[column.name], column, table));
  }
  let text = `INSERT INTO ${target} (${names.join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`;
  if (upsert && table.key.length > 0) {
    const keys = new Set(table.key);
    const others = table.columns
      .filter((column) => !keys.has(column.name))
      .map((column) => ident(column.name));
    // VALUES(col) is what both MariaDB and MySQL accept (MySQL 8.0.20+ warns, still supports it).
    const assignments =
      others.length > 0
        ? others.map((name) => `${name} = VALUES(${name})`)
        : [`${ident(table.key[0]!)} = ${ident(table.key[0]!)}`];
    text += ` ON DUPLICATE KEY UPDATE ${assignments.join(', ')}`;
  }
  return { text, values };
}

/**
 * `UPDATE` of the columns the source sent: a column listed in `unchanged`, or present but undefined (the
 * source's unchanged TOAST), keeps the replica's value. Returns null when no column is to be set.
 */
export function updateRow(
  table: TableSchema,
  target: string,
  old: Row,
  after: Row,
  unchanged: readonly string[],
): Statement | null {
  const skip = new Set(unchanged);
  const values: Parameter[] = [];
  const assignments: string[] = [];
  for (const column of table.columns) {
    if (skip.has(column.name) || after[column.name] === undefined) continue;
    values.push(toParameter(after[column.name], column, table));
    assignments.push(`${ident(column.name)} = ?`);
  }
  if (assignments.length === 0) return null;
  const { where, limit } = locate(table, old, values);
  return { text: `UPDATE ${target} SET ${assignments.join(', ')} WHERE ${where}${limit}`, values };
}

export function deleteRow(table: TableSchema, target: string, old: Row): Statement {
  const values: Parameter[] = [];
  const { where, limit } = locate(table, old, values);
  return { text: `DELETE FROM ${target} WHERE ${where}${limit}`, values };
}

/** TRUNCATE TABLE commits implicitly in MariaDB/MySQL: DELETE keeps it inside the target transaction. */
export function truncateTable(target: string): Statement {
  return { text: `DELETE FROM ${target}`, values: [] };
}
