/**
 * A PostgreSQL 17 primary with a physical standby of a test's own, for failover tests. The npm build of 17
 * (stack/install.sh puts it in .tools/postgres-17) has no pg_basebackup, so the standby starts from a cold copy
 * of the primary's data folder (stopped cleanly first), with `standby.signal`, `primary_conninfo` and the
 * primary's physical slot; then both run. The primary waits for the standby on commit (synchronous
 * replication), so a commit the writer saw acknowledged survives the standby's promotion.
 */
import { access, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from './child-process.ts';
import {
  asPostgres,
  giveToPostgres,
  postgresHome,
  startThrowawayPostgres,
  stopServer,
  type PostgresBuild,
  type ThrowawayPostgres,
} from './throwaway-postgres.ts';
import { AS_ROOT, freePort, ownedFolder, run } from './throwaway.ts';
import { tmpdir } from 'node:os';

const PG17_DIR = join(REPO_ROOT, '.tools/postgres-17');
export const PG17: PostgresBuild = { bin: join(PG17_DIR, 'bin'), libraryPath: join(PG17_DIR, 'lib') };

/** The standby's physical slot on the primary, and its application name (synchronous_standby_names). */
export const STANDBY_SLOT = 'standby1';

export async function assertPostgres17Installed(): Promise<void> {
  await access(join(PG17.bin, 'postgres')).catch(() => {
    throw new Error(`PostgreSQL 17 is not installed in ${PG17_DIR}: run stack/install.sh`);
  });
}

export interface PostgresPair {
  readonly primary: ThrowawayPostgres;
  readonly standbyPort: number;
  standbyUrl(database: string): string;
  /** Stops the primary at once, as a crash would (no shutdown checkpoint, nothing more sent to the standby). */
  crashPrimary(): Promise<void>;
  /** Promotes the standby and waits until it accepts writes. */
  promoteStandby(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `setup` runs on the primary before the standby is copied from it (databases, tables, seed rows); a logical
 * slot must not exist yet (the copy would hold it as a slot of its own, which slot synchronization refuses).
 */
export async function startPostgresPair(
  prefix: string,
  setup: (primary: ThrowawayPostgres) => Promise<void>,
): Promise<PostgresPair> {
  await assertPostgres17Installed();
  const primary = await startThrowawayPostgres({ prefix, build: PG17, settings: 'wal_keep_size = 256MB' });
  let standbyFolder: string | null = null;
  let standbyData = '';
  const standbyPort = await freePort();
  const stopStandby = async () => {
    if (standbyFolder === null) return;
    await stopServer(PG17, standbyData);
    await rm(standbyFolder, { recursive: true, force: true });
  };
  try {
    await setup(primary);
    await primary.query(`SELECT pg_create_physical_replication_slot($1, true)`, [STANDBY_SLOT]);
    await asPostgres(PG17, [`${PG17.bin}/pg_ctl`, 'stop', '-D', primary.data, '-m', 'fast', '-w', '-s']);
    const base = AS_ROOT ? await postgresHome() : tmpdir();
    standbyFolder = await ownedFolder(base, `${prefix}sb`, (old) => stopServer(PG17, join(old, 'data')));
    await giveToPostgres(standbyFolder);
    standbyData = join(standbyFolder, 'data');
    await cp(primary.data, standbyData, { recursive: true, preserveTimestamps: true });
    // The primary's slots stay the primary's: the standby gets the logical slot through synchronization.
    await rm(join(standbyData, 'pg_replslot'), { recursive: true, force: true });
    await rm(join(standbyData, 'postmaster.opts'), { force: true });
    const conf = await readFile(join(standbyData, 'cdc.conf'), 'utf8');
    // Set once the standby exists (a commit before would wait for it for ever); restarted below with them.
    await writeFile(
      join(primary.data, 'cdc.conf'),
      [
        conf,
        `synchronous_standby_names = '${STANDBY_SLOT}'`,
        // A logical walsender sends a change only once the standby has flushed it (PostgreSQL 17).
        `synchronized_standby_slots = '${STANDBY_SLOT}'`,
        '',
      ].join('\n'),
    );
    await writeFile(
      join(standbyData, 'cdc.conf'),
      [
        conf,
        `port = ${standbyPort}`,
        `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres dbname=postgres application_name=${STANDBY_SLOT}'`,
        `primary_slot_name = '${STANDBY_SLOT}'`,
        'hot_standby = on',
        'hot_standby_feedback = on',
        'sync_replication_slots = on',
        // Once promoted, it has no standby of its own to wait for.
        "synchronous_standby_names = ''",
        "synchronized_standby_slots = ''",
        '',
      ].join('\n'),
    );
    await mkdir(join(standbyData, 'pg_replslot'), { mode: 0o700 });
    await writeFile(join(standbyData, 'standby.signal'), '');
    await writeFile(join(standbyFolder, 'postgres.log'), '');
    if (AS_ROOT) await run('chown', ['-R', 'postgres:postgres', standbyFolder]);
    for (const [data, log] of [
      [primary.data, join(primary.data, '..', 'postgres.log')],
      [standbyData, join(standbyFolder, 'postgres.log')],
    ] as const) {
      await asPostgres(PG17, [`${PG17.bin}/pg_ctl`, 'start', '-D', data, '-l', log, '-w', '-t', '60', '-s']);
    }
  } catch (error) {
    await stopStandby();
    await primary.stop();
    throw error;
  }
  const standbyUrl = (database: string) => `postgres://postgres@127.0.0.1:${standbyPort}/${database}`;
  return {
    primary,
    standbyPort,
    standbyUrl,
    async crashPrimary() {
      await asPostgres(PG17, [
        `${PG17.bin}/pg_ctl`,
        'stop',
        '-D',
        primary.data,
        '-m',
        'immediate',
        '-w',
        '-s',
      ]);
    },
    async promoteStandby() {
      await asPostgres(PG17, [`${PG17.bin}/pg_ctl`, 'promote', '-D', standbyData, '-w', '-t', '60', '-s']);
      const client = new pg.Client({ connectionString: standbyUrl('postgres') });
      await client.connect();
      try {
        const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        if (rows[0]?.r !== false) throw new Error('the standby is still in recovery after pg_ctl promote');
      } finally {
        await client.end();
      }
    },
    async stop() {
      await stopStandby();
      await primary.stop();
    },
  };
}
