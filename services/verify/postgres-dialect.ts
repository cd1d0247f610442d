/**
 * The PostgreSQL reader dialect. Every value arrives as PostgreSQL's own text (the type parsers are
 * bypassed), in a session pinned to UTC, ISO dates and hex bytea, so normalize.ts sees one form whatever the
 * server's defaults. real columns (and real[] elements) are read widened to double precision, exactly as MariaDB widens FLOAT, and
 * character(n) through text, which drops the padding MariaDB's CHAR never returns. Text keys order and
 * compare under `COLLATE "C"`, the byte order of their UTF-8 text.
 */
import pg from 'pg';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { keyOrderOf } from './kinds.ts';
import { readerUnreachable, type RawValue, type ReaderDialect } from './reader-dialect.ts';
import type { QualifiedName } from '../../schemas/events/table-names.ts';
import type { NeutralKind, TableShape, VerifyColumn } from './types.ts';
import { postgresConnectOptions, postgresSecurityError } from '../../common/connect/postgres-url.ts';

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

export async function openPostgresDialect(
  url: string,
  role: 'source' | 'target',
  logger: Logger = silentLogger,
): Promise<ReaderDialect> {
  const client = new pg.Client({ ...postgresConnectOptions(url), types: RAW_TEXT });
  try {
    await client.connect();
    await client.query(SESSION_SETUP);
  } catch (error) {
    // The connection failed already; ending it only releases the socket, and the connect error is the news.
    await client
      .end()
      .catch((endError: unknown) => logger.debug({ err: endError }, 'closing a failed connection'));
    throw readerUnreachable(
      error,
      role,
      url,
      postgresSecurityError(error, url, `cannot connect to the ${role}`),
    );
  }
  // An idle connection dropped by the server must not crash the process; the next query reports it.
  client.on('error', (error) => logger.warn({ err: error, role }, 'verification connection lost'));
  return new PostgresDialect(client);
}

class PostgresDialect implements ReaderDialect {
  readonly name = 'postgres' as const;
  readonly defaultSchema = 'public';
  readonly #client: pg.Client;

  constructor(client: pg.Client) {
    this.#client = client;
  }

  async listTables(): Promise<QualifiedName[]> {
    const result = await this.#client.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    return result.rows;
  }

  async describe(name: QualifiedName): Promise<TableShape | null> {
    // Domains are resolved to their base type through any number of levels (a domain over a domain, over an
    // array, an array of domains), as the connector does: a MariaDB replica holds the base type's mapping.
    const columns = await this.#client.query<{
      name: string;
      type: string;
      typname: string;
      typcategory: string;
      element: string | null;
    }>(
      `WITH RECURSIVE base (oid, base) AS (
         SELECT oid, oid FROM pg_type WHERE typtype <> 'd'
         UNION ALL
         SELECT d.oid, b.base FROM pg_type d JOIN base b ON b.oid = d.typbasetype WHERE d.typtype = 'd'
       )
       SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, b.typname, b.typcategory,
              e.typname AS element
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN base tb ON tb.oid = a.atttypid
         JOIN pg_type b ON b.oid = tb.base
         LEFT JOIN base eb ON b.typcategory = 'A' AND eb.oid = b.typelem
         LEFT JOIN pg_type e ON e.oid = eb.base
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
      columns: columns.rows.map((row): VerifyColumn => {
        const common = { name: row.name, nativeType: row.type, baseType: row.typname };
        // Arrays compare element by element, each element by its kind (enums, composites, ranges as text).
        if (row.typcategory === 'A' && row.element !== null)
          return { ...common, kind: 'array', element: KIND_BY_TYPE[row.element] ?? 'text' };
        // Enums, ranges, composites, intervals and the rest compare as PostgreSQL prints them.
        return { ...common, kind: KIND_BY_TYPE[row.typname] ?? 'text' };
      }),
      key: key.rows.map((row) => row.name),
    };
  }

  quote(identifier: string): string {
    return pg.escapeIdentifier(identifier);
  }

  placeholder(position: number): string {
    return `$${position}`;
  }

  selectExpression(column: VerifyColumn): string {
    const name = this.quote(column.name);
    if (column.baseType === 'float4') return `${name}::float8`;
    // Elements of real[] travel as float32 too (Avro float): widened alike, each reads as the double it became.
    if (column.baseType === '_float4') return `${name}::float8[]`;
    if (column.baseType === 'bpchar') return `${name}::text`;
    return name;
  }

  orderExpression(column: VerifyColumn, kind: NeutralKind): string {
    const name = this.quote(column.name);
    return keyOrderOf(kind) === 'text' ? `${name}::text COLLATE "C"` : name;
  }

  keyPlaceholder(position: number, kind: NeutralKind): string {
    return keyOrderOf(kind) === 'text' ? `$${position}::text COLLATE "C"` : `$${position}`;
  }

  keyParam(kind: NeutralKind, value: string): string {
    return keyOrderOf(kind) === 'bytes' ? `\\x${value}` : value;
  }

  async query(text: string, params: readonly unknown[]): Promise<RawValue[][]> {
    const result = await this.#client.query<unknown[]>({ text, values: [...params], rowMode: 'array' });
    return result.rows.map((row) => row.map(rawText));
  }

  async close(): Promise<void> {
    await this.#client.end();
  }
}

function rawText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  // Every type parser is bypassed, so anything but text means the driver changed under us.
  throw new CdcError('INTERNAL', `unexpected value of type ${typeof value} from the PostgreSQL driver`);
}
