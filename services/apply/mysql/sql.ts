/**
 * SQL text helpers for the MariaDB/MySQL sink: identifiers always quoted with backticks (a backtick inside a
 * name doubled), string literals for DDL (enum and set value lists) always escaped.
 */

export type Flavor = 'mariadb' | 'mysql';

export function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A string literal for DDL text; with the session's sql_mode (no NO_BACKSLASH_ESCAPES) backslash escapes. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export interface TargetTable {
  readonly database: string;
  readonly table: string;
}

export function qualified(target: TargetTable): string {
  return `${ident(target.database)}.${ident(target.table)}`;
}

/**
 * A value written into the statement as it is: numeric literals we validated ourselves (decimals, so that
 * nothing rounds them through a JavaScript number). The driver's escaper calls toSqlString.
 */
export class RawSql {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toSqlString(): string {
    return this.text;
  }
}

/** What the driver's escaper turns into a literal: bigints and numbers as digits, Buffers as X'..'. */
export type Parameter = string | number | bigint | Buffer | RawSql | null;

/** The collation of created tables: binary and NO PAD, so keys that differ in case or trailing spaces stay apart. */
export function binaryCollation(flavor: Flavor): string {
  return flavor === 'mariadb' ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
}
