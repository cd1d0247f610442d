/**
 * Reads tables of a PostgreSQL database for verification. Every value arrives as PostgreSQL's own text (the
 * type parsers are bypassed), in a session pinned to UTC, ISO dates and hex bytea, so normalize.ts sees one
 * form whatever the server's defaults. real columns are read widened to double precision, exactly as MariaDB
 * widens FLOAT, and character(n) through text, which drops the padding MariaDB's CHAR never returns.
 */
import pg from 'pg';
import { asCdcError, CdcError } from '../../common/errors.ts';
import { redactUrl, silentLogger, type Logger } from '../../common/logger.ts';
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

const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

const SESSION_SETUP = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex';
  SET extra_float_digits = 1; SET IntervalStyle = 'postgres'`;

const KIND_BY_TYPE: Readonly<Record<string, NeutralKind>> = {
  int2: 'integer',
  int4: 'integer',
  int8: 'integer',
  oid: 'integer',
  bool: 'boolean',
  numeric: 'decimal',
  float4: 'float',
  float8: 'float',
  bytea: 'bytes',
  json: 'json',
  jsonb: 'json',
  timestamp: 'timestamp',
  timestamptz: 'timestamp',
  date: 'date',
  time: 'time',
  timetz: 'time',
  uuid: 'uuid',
  bit: 'bit',
  varbit: 'bit',
};

interface PgColumn extends VerifyColumn {
  /** The resolved base type's name (`int8`, `bpchar`, ...), which decides how the column is read. */
  readonly typeName: string;
}

interface PgShape extends TableShape {
  readonly columns: readonly PgColumn[];
}

export function quotePg(name: string): string {
  return pg.escapeIdentifier(name);
}

export class PostgresReader implements TableReader {
  readonly dialect = 'postgres' as const;
  readonly #client: pg.Client;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(
    url: string,
    role: 'source' | 'target',
    logger: Logger = silentLogger,
  ): Promise<PostgresReader> {
    const client = new pg.Client({ connectionString: url, types: RAW_TEXT });
    try {
      await client.connect();
      await client.query(SESSION_SETUP);
    } catch (error) {
      // The connection failed already; ending it only releases the socket, and the connect error is the news.
      await client
        .end()
        .catch((endError: unknown) => logger.debug({ err: endError }, 'closing a failed connection'));
      throw asCdcError(
        error,
        role === 'source' ? 'SOURCE_UNREACHABLE' : 'TARGET_UNREACHABLE',
        `cannot connect to the ${role} ${redactUrl(url)}`,
      );
    }
    // An idle connection dropped by the server must not crash the process; the next query reports it.
    client.on('error', (error) => logger.warn({ err: error, role }, 'verification connection lost'));
    return new PostgresReader(client);
  }

  async listTables(patterns: readonly string[]): Promise<string[]> {
    const result = await this.#client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    return result.rows
      .filter((row) => matchesAny(patterns, { schema: row.schema, table: row.name }))
      .map((row) => `${row.schema}.${row.name}`);
  }

  async describe(table: string): Promise<PgShape | null> {
    const name = splitTableName(table, 'public');
    const columns = await this.#client.query<{
      name: string;
      type: string;
      typname: string;
      typtype: string;
      typcategory: string;
    }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              b.typname, b.typtype, b.typcategory
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [name.schema, name.table],
    );
    if (columns.rows.length === 0) return null;
    const key = await this.#client.query<{ name: string }>(
      `SELECT a.attname AS name
         FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisprimary
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [name.schema, name.table],
    );
    return {
      schema: name.schema,
      table: name.table,
      columns: columns.rows.map((row) => ({
        name: row.name,
        nativeType: row.type,
        typeName: row.typname,
        // Arrays, enums, ranges, intervals and the rest compare as PostgreSQL prints them.
        kind: row.typcategory === 'A' ? 'text' : (KIND_BY_TYPE[row.typname] ?? 'text'),
      })),
      key: key.rows.map((row) => row.name),
    };
  }

  async boundaryAfter(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    after: KeyTuple | null,
    rows: number,
  ): Promise<KeyTuple | null> {
    const query = this.#rangeQuery(shape, keyKinds, shape.key, { from: after, to: null });
    query.params.push(rows - 1);
    const result = await this.#client.query({
      text: `${query.text} LIMIT 1 OFFSET $${query.params.length}`,
      values: query.params,
      rowMode: 'array',
    });
    const row = result.rows[0] as unknown[] | undefined;
    if (row === undefined) return null;
    return keyKinds.map((kind, index) => normalizeValue(kind, rawText(row[index])) ?? '');
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
    const result = await this.#client.query({ text: query.text, values: query.params, rowMode: 'array' });
    for (const raw of result.rows as unknown[][]) {
      const values = columns.map((column, index) => normalizeValue(column.kind, rawText(raw[index])));
      onRow({ key: keyIndexes.map((index) => values[index] ?? ''), values });
    }
  }

  /** `SELECT <columns> FROM t WHERE <range> ORDER BY <key order>` with its parameters. */
  #rangeQuery(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    select: readonly string[],
    range: KeyRange,
  ): { text: string; params: unknown[] } {
    const byName = new Map((shape as PgShape).columns.map((column) => [column.name, column]));
    const column = (name: string): PgColumn => {
      const found = byName.get(name);
      if (!found) throw new CdcError('INTERNAL', `${shape.schema}.${shape.table} has no column ${name}`);
      return found;
    };
    const order = shape.key.map((name, index) => orderExpression(column(name), keyKinds[index] ?? 'text'));
    const params: unknown[] = [];
    const where = rangeCondition(order, range, (index, value) => {
      params.push(keyParam(keyKinds[index] ?? 'text', value));
      return keyKinds[index] !== undefined && keyOrderOf(keyKinds[index]) === 'text'
        ? `$${params.length}::text COLLATE "C"`
        : `$${params.length}`;
    });
    const list = select.map((name) => selectExpression(column(name))).join(', ');
    return {
      text: `SELECT ${list} FROM ${quotePg(shape.schema)}.${quotePg(shape.table)} WHERE ${where} ORDER BY ${order.join(', ')}`,
      params,
    };
  }

  async close(): Promise<void> {
    await this.#client.end();
  }
}

function selectExpression(column: PgColumn): string {
  const name = quotePg(column.name);
  if (column.typeName === 'float4') return `${name}::float8`;
  if (column.typeName === 'bpchar') return `${name}::text`;
  return name;
}

function orderExpression(column: PgColumn, kind: NeutralKind): string {
  const name = quotePg(column.name);
  return keyOrderOf(kind) === 'text' ? `${name}::text COLLATE "C"` : name;
}

function keyParam(kind: NeutralKind, value: string): string {
  return keyOrderOf(kind) === 'bytes' ? `\\x${value}` : value;
}

function rawText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  // Every type parser is bypassed, so anything but text means the driver changed under us.
  throw new CdcError('INTERNAL', `unexpected value of type ${typeof value} from the PostgreSQL driver`);
}
