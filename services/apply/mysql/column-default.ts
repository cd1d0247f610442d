/**
 * The DEFAULT clause a target column gets from the source column's constant default, so that rows already in
 * the replica when a column is added get the value the source's rows got. The neutral text goes through the
 * same conversion as a row value (PostgreSQL booleans as 1/0, timestamps in UTC, ...). A default the target
 * cannot hold (a date past 9999, NaN) is left out rather than failing the table's DDL.
 */
import { defaultValue } from '../../../schemas/events/column-default.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { literal, RawSql, type Flavor, type Parameter } from './sql.ts';
import { toParameter } from './values.ts';

function sqlLiteral(parameter: Exclude<Parameter, null>): string {
  if (parameter instanceof RawSql) return parameter.text;
  if (typeof parameter === 'number' || typeof parameter === 'bigint') return String(parameter);
  if (Buffer.isBuffer(parameter)) return `X'${parameter.toString('hex')}'`;
  return literal(parameter);
}

/**
 * ` DEFAULT <literal>`, or an empty string when the column has none. MySQL takes literal defaults on
 * TEXT, BLOB and JSON columns only as an expression, `(literal)`; MariaDB takes them as they are.
 */
export function defaultClause(
  column: ColumnSchema,
  table: TableSchema,
  declared: string,
  flavor: Flavor,
): string {
  const value = defaultValue(column);
  if (value === undefined) return '';
  let parameter: Parameter;
  try {
    parameter = toParameter(value, column, table);
  } catch (error) {
    if (error instanceof CdcError) return '';
    throw error;
  }
  if (parameter === null) return '';
  const text = sqlLiteral(parameter);
  const expression = flavor === 'mysql' && /^(tiny|medium|long)?(text|blob)\b|^json\b/i.test(declared);
  return ` DEFAULT ${expression ? `(${text})` : text}`;
}
