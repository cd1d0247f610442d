/**
 * The DEFAULT clause a target column gets from the source column's constant default, so that rows already in
 * the replica when a column is added get the value the source's rows got. The neutral text goes through the
 * same conversion as a row value and is written as a quoted literal, which PostgreSQL reads as the column's
 * type (same dialect: the source's own type; across dialects: the mapped one).
 */
import { defaultValue } from '../../../schemas/events/column-default.ts';
import type { ColumnSchema } from '../../../schemas/events/table-schema.ts';
import { literal } from './sql.ts';
import { toParameter } from './values.ts';

/** ` DEFAULT '<value>'`, or an empty string when the column has no constant default. */
export function defaultClause(column: ColumnSchema): string {
  const value = defaultValue(column);
  if (value === undefined) return '';
  const parameter = toParameter(value, column.type);
  // escapeLiteral puts a space before an E'...' literal (one with backslashes): trimmed for tidy DDL.
  return typeof parameter === 'string' ? ` DEFAULT ${literal(parameter).trim()}` : '';
}
