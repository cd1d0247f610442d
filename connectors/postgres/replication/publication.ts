/**
 * Creates or validates the publication, and lists what it captures. Table patterns are `schema.table` or
 * `schema.*` (every table of the schema, now and later), or `*` for all tables (superuser only).
 */
import type pg from 'pg';
import { CdcError, asCdcError } from '../../../common/errors.ts';
import { qualifiedName, quoteIdent } from '../types/pg-sql.ts';

export interface PublicationInfo {
  readonly name: string;
  readonly publishesUpdates: boolean;
  readonly publishesDeletes: boolean;
  readonly tables: readonly { readonly schema: string; readonly table: string; readonly oid: number }[];
}

export function publicationTargetSql(tables: readonly string[]): string {
  if (tables.length === 0)
    throw new CdcError('CONFIG_INVALID', 'tables must name at least one table or schema.* pattern', {
      field: 'tables',
    });
  if (tables.includes('*') || tables.includes('*.*')) return 'FOR ALL TABLES';
  const parts = tables.map((pattern) => {
    const dot = pattern.indexOf('.');
    if (dot <= 0 || dot === pattern.length - 1) {
      throw new CdcError(
        'CONFIG_INVALID',
        `table pattern ${JSON.stringify(pattern)} is not schema.table or schema.*`,
        { field: 'tables' },
      );
    }
    const schema = pattern.slice(0, dot);
    const table = pattern.slice(dot + 1);
    return table === '*' ? `TABLES IN SCHEMA ${quoteIdent(schema)}` : `TABLE ${qualifiedName(schema, table)}`;
  });
  return `FOR ${parts.join(', ')}`;
}

export async function ensurePublication(
  pool: pg.Pool,
  name: string,
  tables: readonly string[],
  create: boolean,
): Promise<PublicationInfo> {
  const target = publicationTargetSql(tables);
  const existing = await pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (existing.rowCount === 0) {
    if (!create) {
      throw new CdcError(
        'SOURCE_NOT_CONFIGURED',
        `publication "${name}" does not exist: create it (CREATE PUBLICATION ${quoteIdent(name)} ${target}) or set createPublication: true`,
        { publication: name },
      );
    }
    try {
      await pool.query(`CREATE PUBLICATION ${quoteIdent(name)} ${target}`);
    } catch (error) {
      throw publicationError(error, name);
    }
  }
  return readPublication(pool, name);
}

export async function readPublication(pool: pg.Pool, name: string): Promise<PublicationInfo> {
  const flags = await pool.query<{ pubupdate: boolean; pubdelete: boolean }>(
    'SELECT pubupdate, pubdelete FROM pg_publication WHERE pubname = $1',
    [name],
  );
  const flag = flags.rows[0];
  if (!flag)
    throw new CdcError('SOURCE_NOT_CONFIGURED', `publication "${name}" does not exist`, {
      publication: name,
    });
  const tables = await pool.query<{ schema: string; table: string; oid: number }>(
    `SELECT p.schemaname AS schema, p.tablename AS table, c.oid::int4 AS oid
       FROM pg_publication_tables p
       JOIN pg_namespace n ON n.nspname = p.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
      WHERE p.pubname = $1 ORDER BY 1, 2`,
    [name],
  );
  return { name, publishesUpdates: flag.pubupdate, publishesDeletes: flag.pubdelete, tables: tables.rows };
}

/** Every published table must be readable by the connector (snapshots SELECT from it). */
export async function assertTablesReadable(pool: pg.Pool, publication: PublicationInfo): Promise<void> {
  const result = await pool.query<{ name: string; role: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, format('%I', current_user) AS role
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = ANY($1::oid[]) AND NOT has_table_privilege(c.oid, 'SELECT')`,
    [publication.tables.map((table) => table.oid)],
  );
  if (result.rows.length > 0) {
    const names = result.rows.map((row) => row.name).join(', ');
    const role = result.rows[0]?.role ?? "the connector's role";
    throw new CdcError(
      'SOURCE_PRIVILEGE',
      `the connector's role lacks SELECT on ${names}: GRANT SELECT ON ${names} TO ${role}`,
      {
        privilege: 'SELECT',
        tables: names,
      },
    );
  }
}

function publicationError(error: unknown, name: string): CdcError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === '42501') {
    return new CdcError(
      'SOURCE_PRIVILEGE',
      `cannot create publication "${name}": the role needs CREATE on the database and ownership of the published tables (superuser for FOR ALL TABLES or TABLES IN SCHEMA); or create the publication as its owner and set createPublication: false (${(error as Error).message})`,
      { publication: name },
      { cause: error },
    );
  }
  return asCdcError(error, 'SOURCE_NOT_CONFIGURED', `cannot create publication "${name}"`, {
    publication: name,
  });
}
