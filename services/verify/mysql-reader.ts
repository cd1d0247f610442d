/**
 * Reads tables of a MySQL/MariaDB database for verification, in a UTC session with utf8mb4. Temporal values
 * arrive as the server's text (dateStrings), DECIMAL and large integers as exact strings, binary columns as
 * bytes. FLOAT is read widened to DOUBLE (the exact float32 value, as PostgreSQL widens real), BIT through
 * BIN(), UUID as text. Text keys are chunked in the byte order of their UTF-8 text (kinds.ts).
 */
import mysql, { type Connection } from 'mysql2/promise';
import { asCdcError, CdcError } from '../../common/errors.ts';
import { redactUrl } from '../../common/logger.ts';
import { keyOrderOf } from './kinds.ts';
import { normalizeValue } from './normalize.ts';
import { rangeCondition } from './range-sql.ts';
import { matchesAny, splitTableName } from './table-names.ts';
import type {
  KeyRange,
  KeyTuple,
  NeutralKind,
  NormalizedRow,
  ScanColumn,
  TableReader,
  TableShape,
  VerifyColumn,
} from './types.ts';

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

interface MysqlColumn extends VerifyColumn {
  /** DATA_TYPE, lowercase: decides how the column is read. */
  readonly dataType: string;
}

interface MysqlShape extends TableShape {
  readonly columns: readonly MysqlColumn[];
}

export function quoteMysql(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export class MysqlReader implements TableReader {
  readonly dialect = 'mysql' as const;
  readonly #connection: Connection;
  readonly #database: string | null;

  private constructor(connection: Connection, database: string | null) {
    this.#connection = connection;
    this.#database = database;
  }

  static async open(url: string, role: 'source' | 'target'): Promise<MysqlReader> {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || null;
    try {
      const connection = await mysql.createConnection({
        host: parsed.hostname,
        port: parsed.port === '' ? 3306 : Number(parsed.port),
        user: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password),
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
      return new MysqlReader(connection, database);
    } catch (error) {
      throw asCdcError(
        error,
        role === 'source' ? 'SOURCE_UNREACHABLE' : 'TARGET_UNREACHABLE',
        `cannot connect to the ${role} ${redactUrl(url)}`,
      );
    }
  }

  async listTables(patterns: readonly string[]): Promise<string[]> {
    const [rows] = await this.#connection.query(
      `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE'
          AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
        ORDER BY 1, 2`,
    );
    return (rows as unknown[][])
      .map((row) => ({ schema: String(row[0]), table: String(row[1]) }))
      .filter((name) => matchesAny(patterns, name))
      .map((name) => `${name.schema}.${name.table}`);
  }

  async describe(table: string): Promise<MysqlShape | null> {
    const name = splitTableName(table, this.#database);
    const [columns] = await this.#connection.query(
      `SELECT c.COLUMN_NAME, LOWER(c.DATA_TYPE), c.COLUMN_TYPE,
              EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                       WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                         AND k.CHECK_CLAUSE = CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)'))
         FROM information_schema.COLUMNS c
        WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
        ORDER BY c.ORDINAL_POSITION`,
      [name.schema, name.table],
    );
    const columnRows = columns as unknown[][];
    if (columnRows.length === 0) return null;
    const [keys] = await this.#connection.query(
      `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
        ORDER BY ORDINAL_POSITION`,
      [name.schema, name.table],
    );
    return {
      schema: name.schema,
      table: name.table,
      columns: columnRows.map((row) => {
        const dataType = String(row[1]);
        // MariaDB's JSON is LONGTEXT with a json_valid() check: that check is what tells it apart.
        const isJson = Number(row[3]) === 1;
        return {
          name: String(row[0]),
          dataType,
          nativeType: String(row[2]),
          kind: isJson ? 'json' : (KIND_BY_TYPE[dataType] ?? 'text'),
        };
      }),
      key: (keys as unknown[][]).map((row) => String(row[0])),
    };
  }

  async boundaryAfter(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    after: KeyTuple | null,
    rows: number,
  ): Promise<KeyTuple | null> {
    const query = this.#rangeQuery(shape, keyKinds, shape.key, { from: after, to: null });
    const [result] = await this.#connection.query(`${query.text} LIMIT 1 OFFSET ?`, [
      ...query.params,
      rows - 1,
    ]);
    const row = (result as unknown[][])[0];
    if (row === undefined) return null;
    return keyKinds.map((kind, index) => normalizeValue(kind, rawValue(row[index])) ?? '');
  }

  async scanRange(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    columns: readonly ScanColumn[],
    range: KeyRange,
    onRow: (row: NormalizedRow) => void,
  ): Promise<void> {
    const keyIndexes = shape.key.map((name) => columns.findIndex((column) => column.name === name));
    if (keyIndexes.some((index) => index < 0)) {
      throw new CdcError('INTERNAL', `scan of ${shape.schema}.${shape.table} must read every key column`);
    }
    const query = this.#rangeQuery(
      shape,
      keyKinds,
      columns.map((column) => column.name),
      range,
    );
    const [result] = await this.#connection.query(query.text, query.params);
    for (const raw of result as unknown[][]) {
      const values = columns.map((column, index) => normalizeValue(column.kind, rawValue(raw[index])));
      onRow({ key: keyIndexes.map((index) => values[index] ?? ''), values });
    }
  }

  #rangeQuery(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    select: readonly string[],
    range: KeyRange,
  ): { text: string; params: unknown[] } {
    const byName = new Map((shape as MysqlShape).columns.map((column) => [column.name, column]));
    const column = (name: string): MysqlColumn => {
      const found = byName.get(name);
      if (!found) throw new CdcError('INTERNAL', `${shape.schema}.${shape.table} has no column ${name}`);
      return found;
    };
    const order = shape.key.map((name, index) => orderExpression(column(name), keyKinds[index] ?? 'text'));
    const params: unknown[] = [];
    const where = rangeCondition(order, range, (index, value) => {
      const kind = keyKinds[index] ?? 'text';
      params.push(keyParam(kind, value));
      return keyPlaceholder(kind);
    });
    const list = select.map((name) => selectExpression(column(name))).join(', ');
    return {
      text: `SELECT ${list} FROM ${quoteMysql(shape.schema)}.${quoteMysql(shape.table)} WHERE ${where} ORDER BY ${order.join(', ')}`,
      params,
    };
  }

  async close(): Promise<void> {
    await this.#connection.end();
  }
}

function selectExpression(column: MysqlColumn): string {
  const name = quoteMysql(column.name);
  switch (column.dataType) {
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

/** Text-ordered keys compare as the bytes of their UTF-8 text, whatever the column's collation. */
function orderExpression(column: MysqlColumn, kind: NeutralKind): string {
  if (keyOrderOf(kind) !== 'text') return quoteMysql(column.name);
  return `CAST(CONVERT(${selectExpression(column)} USING utf8mb4) AS BINARY)`;
}

function keyPlaceholder(kind: NeutralKind): string {
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

function keyParam(kind: NeutralKind, value: string): unknown {
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

function rawValue(value: unknown): string | Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new CdcError('INTERNAL', `unexpected value of type ${typeof value} from the MariaDB driver`);
}
