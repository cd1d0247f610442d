/**
 * SQL for each kind of change, built from the table's schema with the dialect's spelling. Rows are found by
 * their key columns; a table without a key finds one row by all old values (null-safe) and touches it alone.
 */
import type { Row } from '../../schemas/events/change-event.ts';
import type { TableSchema } from '../../schemas/events/table-schema.ts';
import type { Parameter, Statement, StatementSyntax } from './sql-dialect.ts';

function hasAll(row: Row, names: readonly string[]): boolean {
  return names.every((name) => Object.hasOwn(row, name) && row[name] !== undefined);
}

/**
 * The WHERE clause finding the row `old` describes, and a suffix. Keyed tables: by key columns (`=`, so the
 * primary key index is used). Keyless tables: one row whose every column sent equals its old value.
 */
function locate(
  syntax: StatementSyntax,
  table: TableSchema,
  target: string,
  old: Row,
  values: Parameter[],
): { where: string; suffix: string } {
  const byName = new Map(table.columns.map((column) => [column.name, column]));
  if (table.key.length > 0) {
    const where = table.key.map((name) => {
      const column = byName.get(name) ?? {
        name,
        type: { kind: 'string' },
        sourceType: 'text',
        nullable: false,
      };
      values.push(syntax.parameter(old[name], column, table));
      return `${syntax.ident(name)} = ${syntax.placeholder(values.length)}`;
    });
    return { where: where.join(' AND '), suffix: '' };
  }
  const conditions = table.columns
    .filter((column) => Object.hasOwn(old, column.name) && old[column.name] !== undefined)
    .map((column) => {
      values.push(syntax.parameter(old[column.name], column, table));
      return syntax.nullSafeEquals(table, column, syntax.placeholder(values.length));
    });
  return syntax.oneRow(target, conditions.length > 0 ? conditions.join(' AND ') : 'TRUE');
}

/** The old row an update or delete identifies its row by: `before` when it carries the key, else `after`. */
export function oldRow(table: TableSchema, before: Row | null, after: Row | null): Row | null {
  if (before && (table.key.length === 0 || hasAll(before, table.key))) return before;
  if (table.key.length > 0 && after && hasAll(after, table.key)) return after;
  return null;
}

/**
 * The text of the last multi-row insert built per dialect and table: a catch-up inserts run after run of the
 * same size, whose text (tens of kB for 1,000 rows) only depends on the table, the target, the row count and
 * `upsert`. One entry per table, so memory does not grow with the sizes seen.
 */
const lastInsertText = new WeakMap<StatementSyntax, WeakMap<TableSchema, { key: string; text: string }>>();

/** `INSERT ... VALUES (...), (...)`, optionally as an upsert on the key. */
export function insertRows(
  syntax: StatementSyntax,
  table: TableSchema,
  target: string,
  rows: readonly Row[],
  upsert: boolean,
): Statement {
  const values: Parameter[] = [];
  for (const row of rows)
    for (const column of table.columns) values.push(syntax.parameter(row[column.name], column, table));
  let texts = lastInsertText.get(syntax);
  if (texts === undefined) lastInsertText.set(syntax, (texts = new WeakMap()));
  const key = `${target} ${rows.length} ${upsert}`;
  const last = texts.get(table);
  if (last?.key === key) return { text: last.text, values };
  const text = insertText(syntax, table, target, rows.length, upsert);
  texts.set(table, { key, text });
  return { text, values };
}

function insertText(
  syntax: StatementSyntax,
  table: TableSchema,
  target: string,
  rowCount: number,
  upsert: boolean,
): string {
  const width = table.columns.length;
  const tuples: string[] = [];
  for (let row = 0; row < rowCount; row++) {
    const placeholders: string[] = [];
    for (let column = 1; column <= width; column++)
      placeholders.push(syntax.placeholder(row * width + column));
    tuples.push(`(${placeholders.join(', ')})`);
  }
  const names = table.columns.map((column) => syntax.ident(column.name)).join(', ');
  const text = `INSERT INTO ${target} (${names}) VALUES ${tuples.join(', ')}`;
  return upsert && table.key.length > 0 ? `${text} ${syntax.upsertClause(table)}` : text;
}

/**
 * `UPDATE` of the columns the source sent: a column listed in `unchanged`, or present but undefined (the
 * source's unchanged TOAST), keeps the replica's value. Returns null when no column is to be set.
 */
export function updateRow(
  syntax: StatementSyntax,
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
    values.push(syntax.parameter(after[column.name], column, table));
    assignments.push(`${syntax.ident(column.name)} = ${syntax.placeholder(values.length)}`);
  }
  if (assignments.length === 0) return null;
  const { where, suffix } = locate(syntax, table, target, old, values);
  return { text: `UPDATE ${target} SET ${assignments.join(', ')} WHERE ${where}${suffix}`, values };
}

export function deleteRow(syntax: StatementSyntax, table: TableSchema, target: string, old: Row): Statement {
  const values: Parameter[] = [];
  const { where, suffix } = locate(syntax, table, target, old, values);
  return { text: `DELETE FROM ${target} WHERE ${where}${suffix}`, values };
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
