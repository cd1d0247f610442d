/**
 * A column's constant default from information_schema.COLUMNS.COLUMN_DEFAULT, as neutral text. MariaDB
 * (10.2.7 and later) prints string and temporal literals quoted (`'abc'`, `'it''s'`, `'a\nb'`), numbers bare
 * (`0`, `-3`, `1.50`), an explicit NULL default as the word NULL, and expressions as their text
 * (`current_timestamp()`, `uuid()`, `(1 + 1)`, `b'1'`): only the first two are constants.
 *
 * MySQL 8 prints string defaults unquoted, indistinguishable here from an expression: there only numeric
 * defaults are carried, which is safe (a missing default is the replica's old behaviour).
 */
import type { ColumnType } from '../../../schemas/events/table-schema.ts';
import { canonicalDefault } from '../../../schemas/events/column-default.ts';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const QUOTED = /^'((?:[^'\\]|''|\\[\s\S])*)'$/;
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  '0': '\0',
  Z: '\x1a',
};

/** The literal's value: a quoted string unescaped, a bare number as it is; null for anything else. */
export function mysqlDefaultLiteral(columnDefault: string | null): string | null {
  if (columnDefault === null) return null;
  if (NUMBER.test(columnDefault)) return columnDefault;
  const quoted = QUOTED.exec(columnDefault);
  if (!quoted) return null;
  return quoted[1]!.replace(/''|\\([\s\S])/g, (all, escaped: string | undefined) =>
    escaped === undefined ? "'" : (ESCAPES[escaped] ?? escaped),
  );
}

/**
 * The neutral default of a column of `type`, or undefined. `utcDefault` is the literal of a TIMESTAMP column
 * converted to UTC by the server (COLUMN_DEFAULT shows it in the session's time zone).
 */
export function mysqlColumnDefault(
  type: ColumnType,
  columnDefault: string | null,
  utcDefault: string | null,
): string | undefined {
  if (type.kind === 'timestamptz') {
    if (utcDefault === null || mysqlDefaultLiteral(columnDefault) === null) return undefined;
    // As decode-value.ts prints TIMESTAMP values: the UTC time with `+00`.
    return canonicalDefault(type, `${utcDefault}+00`);
  }
  const literal = mysqlDefaultLiteral(columnDefault);
  return literal === null ? undefined : canonicalDefault(type, literal);
}
