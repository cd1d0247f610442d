/**
 * The MySQL/MariaDB reader dialect, in a UTC session with utf8mb4. Temporal values arrive as the server's
 * text (dateStrings), DECIMAL and large integers as exact strings, binary columns as bytes. FLOAT is read
 * widened to DOUBLE (the exact float32 value, as PostgreSQL widens real), BIT through BIN(), UUID as text.
 * Text keys order and compare as the bytes of their UTF-8 text, whatever the column's collation (kinds.ts).
 */
import mysql, { type Connection } from 'mysql2/promise';
import { CdcError } from '../../common/errors.ts';
import { keyOrderOf } from './kinds.ts';
import { readerUnreachable, type RawValue, type ReaderDialect } from './reader-dialect.ts';
import type { QualifiedName } from '../../schemas/events/table-names.ts';
import type { NeutralKind, TableShape, VerifyColumn } from './types.ts';
import { mysqlConnectOptions, mysqlSecurityError } from '../../common/connect/mysql-url.ts';

const KIND_BY_TYPE: Readonly<Record<string, NeutralKind>> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  integer: 'integer',
  bigint: 'integer',
  year: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'float',
  real: 'float',
  date: 'date',
  datetime: 'timestamp',
  timestamp: 'timestamp',
  time: 'time',
  binary: 'bytes',
  varbinary: 'bytes',
  tinyblob: 'bytes',
  blob: 'bytes',
  mediumblob: 'bytes',
  longblob: 'bytes',
  json: 'json',
  bit: 'bit',
  uuid: 'uuid',
};

export async function openMysqlDialect(url: string, role: 'source' | 'target'): Promise<ReaderDialect> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || null;
  try {
    const connection = await mysql.createConnection({
      ...mysqlConnectOptions(url),
      charset: 'utf8mb4',
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      jsonStrings: true,
      rowsAsArray: true,
    });
    await connection.query(`SET time_zone = '+00:00'`);
    return new MysqlDialect(connection, database);
  } catch (error) {
    throw readerUnreachable(
      error,
      role,
      url,
      mysqlSecurityError(error, url, `cannot connect to the ${role}`),
    );
  }
}

class MysqlDialect implements ReaderDialect {
  readonly name = 'mysql' as const;
  readonly defaultSchema: string | null;
  readonly #connection: Connection;

  constructor(connection: Connection, database: string | null) {
    this.#connection = connection;
    this.defaultSchema = database;
  }

  async listTables(): Promise<QualifiedName[]> {
    const rows = await this.query(
      `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE'
          AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
        ORDER BY 1, 2`,
      [],
    );
    return rows.map((row) => ({ schema: String(row[0]), table: String(row[1]) }));
  }

  async describe(name: QualifiedName): Promise<TableShape | null> {
    const columns = await this.query(
      `SELECT c.COLUMN_NAME, LOWER(c.DATA_TYPE), c.COLUMN_TYPE,
              EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                       WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                         AND k.CHECK_CLAUSE = CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)'))
         FROM information_schema.COLUMNS c
        WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
        ORDER BY c.ORDINAL_POSITION`,
      [name.schema, name.table],
    );
    if (columns.length === 0) return null;
    const keys = await this.query(
      `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
        ORDER BY ORDINAL_POSITION`,
      [name.schema, name.table],
    );
    return {
      schema: name.schema,
      table: name.table,
      columns: columns.map((row) => {
        const dataType = String(row[1]);
        // MariaDB's JSON is LONGTEXT with a json_valid() check: that check is what tells it apart.
        const isJson = Number(row[3]) === 1;
        return {
          name: String(row[0]),
          baseType: dataType,
          nativeType: String(row[2]),
          kind: isJson ? 'json' : (KIND_BY_TYPE[dataType] ?? 'text'),
        };
      }),
      key: keys.map((row) => String(row[0])),
    };
  }

  quote(identifier: string): string {
    return `\`${identifier.replace(/`/g, '``')}\``;
  }

  placeholder(): string {
    return '?';
  }

  selectExpression(column: VerifyColumn): string {
    const name = this.quote(column.name);
    switch (column.baseType) {
      case 'float':
        return `CAST(${name} AS DOUBLE)`;
      case 'bit':
        return `BIN(${name})`;
      case 'uuid':
        return `CAST(${name} AS CHAR)`;
      default:
        return name;
    }
  }

  orderExpression(column: VerifyColumn, kind: NeutralKind): string {
    if (keyOrderOf(kind) !== 'text') return this.quote(column.name);
    return `CAST(CONVERT(${this.selectExpression(column)} USING utf8mb4) AS BINARY)`;
  }

  keyPlaceholder(_position: number, kind: NeutralKind): string {
    switch (keyOrderOf(kind)) {
      // A string compared with an integer column would compare as a double: exact decimals keep big keys exact.
      case 'numeric':
        return kind === 'float' ? 'CAST(? AS DOUBLE)' : 'CAST(? AS DECIMAL(65,30))';
      case 'temporal':
      case 'bytes':
      case 'text':
        return '?';
    }
  }

  keyParam(kind: NeutralKind, value: string): unknown {
    switch (keyOrderOf(kind)) {
      case 'text':
        return Buffer.from(value, 'utf8');
      case 'bytes':
        return Buffer.from(value, 'hex');
      case 'temporal':
        // `2024-01-02T03:04:05.000000Z` → `2024-01-02 03:04:05.000000`, which MariaDB reads in the UTC session.
        return value.replace('T', ' ').replace(/Z$/, '');
      case 'numeric':
        return value;
    }
  }

  async query(text: string, params: readonly unknown[]): Promise<RawValue[][]> {
    // rowsAsArray: each row is an array, whatever the driver's declared result type says.
    const [rows] = await this.#connection.query(text, [...params]);
    return (rows as unknown[][]).map((row) => row.map(rawValue));
  }

  async close(): Promise<void> {
    await this.#connection.end();
  }
}

function rawValue(value: unknown): RawValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new CdcError('INTERNAL', `unexpected value of type ${typeof value} from the MariaDB driver`);
}
