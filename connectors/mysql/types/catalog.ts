/**
 * Reads captured tables' definitions from information_schema into TableSchema values, and matches table
 * names against the configured patterns (`shop.*`, `shop.orders`).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { mysqlColumnDefault } from './column-default.ts';
import { columnTypeOf } from './column-type.ts';
import { scalarText } from './decode-value.ts';

export interface TablePattern {
  readonly database: string;
  /** null matches every table of the database. */
  readonly table: string | null;
}

export function parseTablePatterns(patterns: readonly string[]): TablePattern[] {
  return patterns.map((pattern) => {
    const dot = pattern.indexOf('.');
    const database = dot < 0 ? pattern : pattern.slice(0, dot);
    const table = dot < 0 ? '*' : pattern.slice(dot + 1);
    return { database, table: table === '*' ? null : table };
  });
}

export function tableMatches(patterns: readonly TablePattern[], database: string, table: string): boolean {
  return patterns.some((p) => p.database === database && (p.table === null || p.table === table));
}

/**
 * The tables a snapshot request names, as `database.table` (a bare name is taken in the only captured database;
 * no names means every captured table), and those among them that are not captured tables.
 */
export function requestedTables(
  captured: readonly string[],
  tables: readonly string[],
  databases: readonly string[],
): { wanted: string[]; unknown: string[] } {
  const wanted =
    tables.length === 0
      ? [...captured]
      : tables.map((table) =>
          table.includes('.') || databases.length !== 1 ? table : `${databases[0]}.${table}`,
        );
  return { wanted, unknown: wanted.filter((table) => !captured.includes(table)) };
}

/** Captured tables that exist now, as `database.table`, in name order. */
export async function listCapturedTables(
  connection: Connection,
  patterns: readonly TablePattern[],
): Promise<string[]> {
  const databases = [...new Set(patterns.map((p) => p.database))];
  if (databases.length === 0) return [];
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
      WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    [databases],
  );
  return rows
    .map((row) => ({ db: String(row.db), name: String(row.name) }))
    .filter((row) => tableMatches(patterns, row.db, row.name))
    .map((row) => `${row.db}.${row.name}`);
}

/** Row count estimate of `database.table` names from table statistics (InnoDB's is approximate). */
export async function estimateRows(connection: Connection, tables: readonly string[]): Promise<number> {
  if (tables.length === 0) return 0;
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT COALESCE(SUM(TABLE_ROWS), 0) AS estimate FROM information_schema.TABLES WHERE CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) IN (?)`,
    [tables],
  );
  return Number(rows[0]?.estimate ?? 0);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : scalarText(value);
}

/** The table's current definition, or null when it does not exist (dropped). */
export async function readTableSchema(
  connection: Connection,
  database: string,
  table: string,
): Promise<TableSchema | null> {
  const [columns] = await connection.query<RowDataPacket[]>(
    `SELECT c.COLUMN_NAME AS name, c.DATA_TYPE AS dataType, c.COLUMN_TYPE AS columnType, c.IS_NULLABLE AS nullable,
            c.CHARACTER_MAXIMUM_LENGTH AS maxLength, c.NUMERIC_PRECISION AS \`precision\`, c.NUMERIC_SCALE AS scale,
            c.DATETIME_PRECISION AS datetimePrecision, c.COLUMN_DEFAULT AS columnDefault,
            -- A TIMESTAMP default is shown in the session's time zone: the server converts it back to UTC.
            CASE WHEN c.DATA_TYPE = 'timestamp' AND c.COLUMN_DEFAULT LIKE '''%'''
                 THEN CAST(CONVERT_TZ(SUBSTRING(c.COLUMN_DEFAULT, 2, CHAR_LENGTH(c.COLUMN_DEFAULT) - 2),
                                      @@session.time_zone, '+00:00') AS CHAR) END AS utcDefault,
            EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                     WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                       AND k.CHECK_CLAUSE = CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)')) AS isJson
       FROM information_schema.COLUMNS c
      WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
      ORDER BY c.ORDINAL_POSITION`,
    [database, table],
  );
  if (columns.length === 0) return null;
  const [keys] = await connection.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
      ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  return {
    database,
    schema: database,
    table,
    dialect: 'mysql',
    columns: columns.map((row) => {
      const catalog = {
        name: String(row.name),
        dataType: String(row.dataType),
        columnType: String(row.columnType),
        maxLength: numberOrNull(row.maxLength),
        precision: numberOrNull(row.precision),
        scale: numberOrNull(row.scale),
        datetimePrecision: numberOrNull(row.datetimePrecision),
        isJson: Number(row.isJson) === 1,
      };
      const type = columnTypeOf(catalog);
      const columnDefault = mysqlColumnDefault(
        type,
        textOrNull(row.columnDefault),
        textOrNull(row.utcDefault),
      );
      return {
        name: catalog.name,
        type,
        sourceType: catalog.columnType,
        nullable: row.nullable === 'YES',
        ...(columnDefault !== undefined ? { default: columnDefault } : {}),
      };
    }),
    key: keys.map((row) => String(row.name)),
    beforeImage: 'full',
  };
}

/** Quotes an identifier for MySQL/MariaDB SQL. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
