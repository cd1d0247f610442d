/**
 * The cutover, recorded on the new primary (`cdc_migrate.cutover` on the PostgreSQL target): where the target
 * took over, and the slot the reverse path reads from. The record is the hand-off between processes: the
 * running `migrate start` stops its capture once it appears, and `migrate reverse` refuses to start without it.
 * It lives outside the migrated schemas, so the reverse publication never carries it.
 */
import pg from 'pg';
import { asCdcError } from '../../common/errors.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';

export interface CutoverRecord {
  readonly migration: string;
  /** The MariaDB GTID position at the fence: every source transaction up to it is on the target. */
  readonly sourceGtid: string;
  /** The PostgreSQL LSN the reverse slot starts at: every target write after it reaches the old database. */
  readonly targetLsn: string;
  readonly slot: string;
  readonly publication: string;
  /** How writes on the old source were stopped: `read-only` (set by the cutover) or `operator`. */
  readonly fence: 'read-only' | 'operator';
  readonly at: string;
}

const TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

const SETUP = `
  CREATE SCHEMA IF NOT EXISTS cdc_migrate;
  CREATE TABLE IF NOT EXISTS cdc_migrate.cutover (
    migration text PRIMARY KEY,
    source_gtid text NOT NULL,
    target_lsn pg_lsn NOT NULL,
    slot text NOT NULL,
    publication text NOT NULL,
    fence text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
  )`;

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...postgresConnectOptions(url), types: TEXT });
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    throw asCdcError(error, 'TARGET_UNREACHABLE', 'cannot read or write the migration state on the target');
  } finally {
    await client.end();
  }
}

interface Row {
  migration: string;
  source_gtid: string;
  target_lsn: string;
  slot: string;
  publication: string;
  fence: string;
  at: string;
}

/** The recorded cutover of `migration`, or null before it happened. */
export async function readCutover(url: string, migration: string): Promise<CutoverRecord | null> {
  return withClient(url, async (client) => {
    const exists = await client.query<{ table: string | null }>(
      `SELECT to_regclass('cdc_migrate.cutover')::text AS table`,
    );
    if (exists.rows[0]?.table === null) return null;
    const result = await client.query<Row>(
      `SELECT migration, source_gtid, target_lsn::text, slot, publication, fence, at::text FROM cdc_migrate.cutover WHERE migration = $1`,
      [migration],
    );
    const row = result.rows[0];
    if (row === undefined) return null;
    return {
      migration: row.migration,
      sourceGtid: row.source_gtid,
      targetLsn: row.target_lsn,
      slot: row.slot,
      publication: row.publication,
      fence: row.fence === 'operator' ? 'operator' : 'read-only',
      at: row.at,
    };
  });
}

export async function writeCutover(url: string, record: Omit<CutoverRecord, 'at'>): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(SETUP);
    await client.query(
      `INSERT INTO cdc_migrate.cutover (migration, source_gtid, target_lsn, slot, publication, fence)
       VALUES ($1, $2, $3::pg_lsn, $4, $5, $6)`,
      [record.migration, record.sourceGtid, record.targetLsn, record.slot, record.publication, record.fence],
    );
  });
}
