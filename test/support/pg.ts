/**
 * PostgreSQL helpers for end-to-end tests: throwaway databases, and reading whole tables in a form that
 * compares exactly across source and replica (every value as PostgreSQL's own text).
 */
import pg from 'pg';
import { stack, uniqueName, withDatabase } from './stack.ts';
import { waitFor } from './wait.ts';

/** Every value read as the server's text, so comparisons are exact. */
const TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

export async function createDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = withDatabase(stack.pgAdminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 4, types: TEXT });
  return {
    name,
    url,
    query: (sql, params) => pool.query(sql, params as unknown[]),
    async drop() {
      await pool.end();
      // Slots of this database must go first, or DROP DATABASE refuses. A walsender can outlive its client
      // for a moment after the pipeline stopped: end it, and wait until its slot is released.
      await adminQuery(
        `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active`,
        [name],
      );
      await waitFor(`replication slots of ${name} to be released`, async () => {
        const active = await adminQuery(`SELECT 1 FROM pg_replication_slots WHERE database = $1 AND active`, [
          name,
        ]);
        return active.rowCount === 0;
      });
      await adminQuery(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`,
        [name],
      );
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

export async function adminQuery(sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: stack.pgAdminUrl, types: TEXT });
  await client.connect();
  try {
    return await client.query(sql, params as unknown[]);
  } finally {
    await client.end();
  }
}

/**
 * Drops the replication origins of a source's replicas (`cdc_<source>`, `cdc_<source>__<replica>`): origins
 * are cluster-wide, so they go with the test, not with its databases.
 */
export async function dropOriginsOf(sourceName: string): Promise<void> {
  await adminQuery(
    `SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1 OR starts_with(roname, $1 || '__')`,
    [`cdc_${sourceName}`],
  );
}

/** All rows of `table` ordered by every column, each row as text values; `null` when the table is missing. */
export async function tableContent(
  db: TestDatabase,
  table: string,
  orderBy: string,
): Promise<string[] | null> {
  const exists = await db.query<{ ok: string | null }>(`SELECT to_regclass($1) AS ok`, [table]);
  if (exists.rows[0]?.ok === null) return null;
  const result = await db.query(`SELECT t::text AS row FROM ${table} t ORDER BY ${orderBy}`);
  return result.rows.map((row) => String(row.row));
}
