/**
 * Builds TableSchema from the PostgreSQL catalog: columns in order with their neutral type and
 * `format_type` text (schema-qualified for user types because the catalog connection runs with
 * search_path = pg_catalog), nullability, constant defaults, the key, the before-image the replica
 * identity gives, and the user-defined types the columns use (user-types.ts).
 * Cached by relation oid and column signature, so a RELATION message after ALTER TABLE reloads it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { Backoff } from '../../../common/retry.ts';
import { pgColumnDefault } from './column-default.ts';
import { columnTypeOf, type PgTypeFacts } from './column-type.ts';
import { readUserTypes, type TypesByText } from './user-types.ts';

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface PgTable {
  readonly oid: number;
  readonly schema: TableSchema;
  readonly identity: ReplicaIdentity;
  readonly hasPrimaryKey: boolean;
  /** The user types of schema.userTypes by their type text, for reading their values (type-drift.ts). */
  readonly typesByText?: TypesByText;
}

interface ColumnRow {
  name: string;
  source_type: string;
  nullable: boolean;
  typmod: number;
  dims: number;
  type_name: string;
  type_schema: string;
  type_kind: string;
  type_oid: number;
  elem_name: string | null;
  elem_schema: string | null;
  elem_kind: string | null;
  elem_oid: number | null;
  enum_labels: string[] | null;
  elem_enum_labels: string[] | null;
  default_expr: string | null;
  /** The column's own type (a domain itself, not its base) when it lies outside pg_catalog. */
  user_type_oid: number | null;
}

interface TableRow {
  schema: string;
  table: string;
  identity: string;
  primary_key: string[] | null;
  identity_key: string[] | null;
  database: string;
}

/**
 * The type under any number of domains (a domain's typbasetype may itself be a domain), with the type
 * modifier that applies to it: the innermost domain's (`CREATE DOMAIN code AS varchar(8)`), else `typmod`.
 */
const BASE_OF = (oid: string, typmod: string, alias: string): string => `
  LEFT JOIN LATERAL (
    WITH RECURSIVE chain(oid, kind, base, typmod, own_typmod) AS (
      SELECT d.oid, d.typtype, d.typbasetype, ${typmod}, d.typtypmod FROM pg_type d WHERE d.oid = ${oid}
      UNION ALL
      SELECT p.oid, p.typtype, p.typbasetype, chain.own_typmod, p.typtypmod
        FROM pg_type p JOIN chain ON p.oid = chain.base WHERE chain.kind = 'd')
    SELECT chain.oid, chain.typmod FROM chain WHERE chain.kind <> 'd') ${alias} ON true`;

const COLUMNS_SQL = `
SELECT a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS source_type,
       NOT a.attnotnull AS nullable,
       COALESCE(eb.typmod, b.typmod) AS typmod,
       a.attndims::int4 AS dims,
       bt.typname AS type_name, bn.nspname AS type_schema, bt.typtype AS type_kind, bt.oid::int4 AS type_oid,
       et.typname AS elem_name, en.nspname AS elem_schema, et.typtype AS elem_kind, et.oid::int4 AS elem_oid,
       (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = bt.oid) AS enum_labels,
       (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = et.oid) AS elem_enum_labels,
       -- a generated column's expression is kept in pg_attrdef too: it is no default
       (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
         WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = '') AS default_expr,
       CASE WHEN t.typnamespace <> 'pg_catalog'::regnamespace THEN t.oid::int4 END AS user_type_oid
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  -- a domain is carried as its base type, and an array of a domain as an array of that base type
  ${BASE_OF('t.oid', 'a.atttypmod', 'b')}
  JOIN pg_type bt ON bt.oid = b.oid
  JOIN pg_namespace bn ON bn.oid = bt.typnamespace
  ${BASE_OF("CASE WHEN bt.typcategory = 'A' THEN bt.typelem END", 'b.typmod', 'eb')}
  LEFT JOIN pg_type et ON et.oid = eb.oid
  LEFT JOIN pg_namespace en ON en.oid = et.typnamespace
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

const KEY_COLUMNS = (flag: 'indisprimary' | 'indisreplident'): string => `
  (SELECT json_agg(a.attname ORDER BY k.ord)
     FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = c.oid AND i.${flag})`;

const TABLE_SQL = `
SELECT n.nspname AS schema, c.relname AS table, c.relreplident AS identity,
       ${KEY_COLUMNS('indisprimary')} AS primary_key,
       ${KEY_COLUMNS('indisreplident')} AS identity_key,
       current_database() AS database
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = $1`;

/** About 2 s in all: far longer than a commit takes to become visible, short for a table really changed since. */
const CATCH_UP_BACKOFF = { initialMs: 10, maxMs: 500 };
const CATCH_UP_ATTEMPTS = 10;

const IDENTITY_BY_CODE: Record<string, ReplicaIdentity> = {
  d: 'default',
  n: 'nothing',
  f: 'full',
  i: 'index',
};

export class PgCatalog {
  readonly #pool: pg.Pool;
  readonly #cache = new Map<number, { signature: string; table: PgTable }>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /**
   * The table for a RELATION message; `signature` identifies its column list so a changed table reloads, and
   * `sent` names the columns the message lists. `reload`: read it again anyway (its user types changed, which
   * sends no RELATION message).
   *
   * The walsender may send a transaction a moment before other sessions see it committed: PostgreSQL flushes
   * the commit record (which decoding follows) before it marks the transaction committed for everyone. A table
   * created by that transaction is then missing from the catalog, or half there (its key read, its columns
   * not). So the catalog is read again, briefly, until it holds every column the message names; a table that
   * really lost a column since (a lagging stream) is then taken as the catalog has it.
   */
  async forRelation(
    oid: number,
    signature: string,
    sent: readonly string[],
    reload = false,
  ): Promise<PgTable> {
    const cached = this.#cache.get(oid);
    if (cached && cached.signature === signature && !reload) return cached.table;
    const backoff = new Backoff(CATCH_UP_BACKOFF);
    for (;;) {
      // After the last wait, the catalog's answer (or its error) is taken as it is.
      const mayWait = backoff.attempts < CATCH_UP_ATTEMPTS;
      const table = await this.load(oid).catch((error: unknown) => {
        if (mayWait && error instanceof CdcError && error.code === 'SOURCE_TABLE_UNSUPPORTED') return null;
        throw error;
      });
      const known = new Set(table?.schema.columns.map((column) => column.name));
      if (table !== null && (!mayWait || sent.every((name) => known.has(name)))) {
        this.#cache.set(oid, { signature, table });
        return table;
      }
      await delay(backoff.next());
    }
  }

  /** Resolves `schema.table` to its oid; throws SOURCE_TABLE_UNSUPPORTED when it does not exist. */
  async oidOf(schema: string, table: string): Promise<number> {
    const result = await this.#pool.query<{ oid: number }>(
      `SELECT c.oid::int4 AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, table],
    );
    const row = result.rows[0];
    if (!row)
      throw new CdcError('SOURCE_TABLE_UNSUPPORTED', `table ${schema}.${table} does not exist`, {
        table: `${schema}.${table}`,
      });
    return row.oid;
  }

  async load(oid: number): Promise<PgTable> {
    const [tableResult, columnResult] = await Promise.all([
      this.#pool.query<TableRow>(TABLE_SQL, [oid]),
      this.#pool.query<ColumnRow>(COLUMNS_SQL, [oid]),
    ]);
    const userTypeOids = columnResult.rows.flatMap((column) => column.user_type_oid ?? []);
    const userTypes = userTypeOids.length > 0 ? await readUserTypes(this.#pool, userTypeOids) : null;
    const row = tableResult.rows[0];
    if (!row)
      throw new CdcError('SOURCE_TABLE_UNSUPPORTED', `relation ${oid} is not in the catalog (dropped?)`, {
        oid,
      });
    const identity = IDENTITY_BY_CODE[row.identity] ?? 'default';
    const columns: ColumnSchema[] = columnResult.rows.map((column) => {
      const type = columnTypeOf({
        type: typeFacts(column),
        element: elementFacts(column),
        typmod: column.typmod,
        dimensions: column.dims,
      });
      const columnDefault = pgColumnDefault(type, column.default_expr);
      return {
        name: column.name,
        type,
        sourceType: column.source_type,
        nullable: column.nullable,
        ...(columnDefault !== undefined ? { default: columnDefault } : {}),
      };
    });
    const key = identity === 'index' ? (row.identity_key ?? []) : (row.primary_key ?? []);
    return {
      oid,
      identity,
      hasPrimaryKey: (row.primary_key ?? []).length > 0,
      ...(userTypes && userTypes.types.length > 0 ? { typesByText: userTypes.byText } : {}),
      schema: {
        dialect: 'postgres',
        database: row.database,
        schema: row.schema,
        table: row.table,
        columns,
        key,
        beforeImage: identity === 'full' ? 'full' : 'key',
        ...(userTypes && userTypes.types.length > 0 ? { userTypes: userTypes.types } : {}),
      },
    };
  }
}

function typeFacts(column: ColumnRow): PgTypeFacts {
  return {
    name: column.type_name,
    schema: column.type_schema,
    kind: column.type_kind,
    ...(column.enum_labels ? { enumLabels: column.enum_labels } : {}),
  };
}

function elementFacts(column: ColumnRow): PgTypeFacts | null {
  if (column.elem_name === null || column.elem_schema === null || column.elem_kind === null) return null;
  return {
    name: column.elem_name,
    schema: column.elem_schema,
    kind: column.elem_kind,
    ...(column.elem_enum_labels ? { enumLabels: column.elem_enum_labels } : {}),
  };
}
