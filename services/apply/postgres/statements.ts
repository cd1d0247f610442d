/**
 * SQL for each kind of change, built from the table's shape. Rows are found by their key columns; a table
 * without a key finds one row by all old values (null-safe) and touches it alone through its ctid.
 */
import type { Row } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { ident } from './sql.ts';
import { declaredType } from './type-mapping.ts';
import { toParameter, type Parameter } from './values.ts';

export interface Statement {
  readonly text: string;
  readonly values: Parameter[];
}

/** Types without an equality operator are compared through a type that has one. */
function comparable(table: TableSchema, column: ColumnSchema, placeholder: string): string {
  const type = declaredType(table, column).toLowerCase();
  const name = ident(column.name);
  if (type === 'json') return `${name}::jsonb IS NOT DISTINCT FROM ${placeholder}::jsonb`;
  if (/^(xml|point|line|lseg|box|path|polygon|circle)$/.test(type))
    return `${name}::text IS NOT DISTINCT FROM ${placeholder}::text`;
  return `${name} IS NOT DISTINCT FROM ${placeholder}`;
}

function hasAll(row: Row, names: readonly string[]): boolean {
  return names.every((name) => Object.hasOwn(row, name) && row[name] !== undefined);
}

/**
 * The WHERE clause finding the row `old` describes. Keyed tables: by key columns (`=`, so the primary key
 * index is used). Keyless tables: one row whose every column sent equals its old value.
 */
function locate(table: TableSchema, target: string, old: Row, values: Parameter[]): string {
  const byColumn = new Map(table.columns.map((column) => [column.name, column]));
  if (table.key.length > 0) {
    return table.key
      .map((name) => {
        values.push(toParameter(old[name], byColumn.get(name)?.type ?? { kind: 'text' }));
        return `${ident(name)} = $${values.length}`;
      })
      .join(' AND ');
  }
  const conditions = table.columns
    .filter((column) => Object.hasOwn(old, column.name) && old[column.name] !== undefined)
    .map((column) => {
      values.push(toParameter(old[column.name], column.type));
      return comparable(table, column, `$${values.length}`);
    });
  const where = conditions.length > 0 ? conditions.join(' AND ') : 'true';
  return `ctid = (SELECT ctid FROM ${target} WHERE ${where} LIMIT 1)`;
}

/** The old row an update or delete identifies its row by: `before` when it carries the key, else `after`. */
export function oldRow(table: TableSchema, before: Row | null, after: Row | null): Row | null {
  if (before && (table.key.length === 0 || hasAll(before, table.key))) return before;
  if (table.key.length > 0 && after && hasAll(after, table.key)) return after;
  return null;
}

/** `INSERT ... VALUES (...), (...)`, optionally as an upsert on the key. */
export function insertRows(
  table: TableSchema,
  target: string,
  rows: readonly Row[],
  upsert: boolean,
): Statement {
  const names = table.columns.map((column) => ident(column.name));
  const values: Parameter[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    const placeholders: string[] = [];
    for (const column of table.columns) {
      values.push(toParameter(row[column.name], column.type));
      placeholders.push(`$${values.length}`);
    }
    tuples.push(`(${placeholders.join(', ')})`);
  }
  let text = `INSERT INTO ${target} (${names.join(', ')}) VALUES ${tuples.join(', ')}`;
  if (upsert && table.key.length > 0) {
    const keys = new Set(table.key);
    const others = table.columns
      .filter((column) => !keys.has(column.name))
      .map((column) => ident(column.name));
    text +=
      others.length > 0
        ? ` ON CONFLICT (${table.key.map(ident).join(', ')}) DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`
        : ` ON CONFLICT (${table.key.map(ident).join(', ')}) DO NOTHING`;
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
    values.push(toParameter(after[column.name], column.type));
    assignments.push(`${ident(column.name)} = $${values.length}`);
  }
  if (assignments.length === 0) return null;
  const where = locate(table, target, old, values);
  return { text: `UPDATE ${target} SET ${assignments.join(', ')} WHERE ${where}`, values };
}

/**
 * Columns of the table an update did not send: listed in `unchanged` (the source's unchanged TOAST) or
 * present but undefined. An update with none left out carries the whole row.
 */
export function unsentColumns(table: TableSchema, after: Row, unchanged: readonly string[]): string[] {
  const skip = new Set(unchanged);
  return table.columns
    .filter(
      (column) =>
        skip.has(column.name) || !Object.hasOwn(after, column.name) || after[column.name] === undefined,
    )
    .map((column) => column.name);
}

export function deleteRow(table: TableSchema, target: string, old: Row): Statement {
  const values: Parameter[] = [];
  const where = locate(table, target, old, values);
  return { text: `DELETE FROM ${target} WHERE ${where}`, values };
}

export function truncateTable(target: string): Statement {
  return { text: `TRUNCATE TABLE ${target}`, values: [] };
}
