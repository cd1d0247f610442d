/**
 * A PostgreSQL 15 cluster of a test's own, beside the stack's (which stays untouched): the stack's settings
 * (stack/postgres/postgresql.conf) with the test's own appended, its own data folder, a free loopback port,
 * no Unix socket (tests connect over TCP); stop() stops it and deletes the folder. Used for a clock running
 * ahead (skewed-postgres.ts) and for a server taking TLS (tls-postgres.ts).
 *
 * As root, PostgreSQL runs as the `postgres` OS user (as stack/lib/services.sh runs the stack's), which may be
 * unable to enter the checkout or a root-only temporary folder: the cluster then lives in that user's home
 * folder, as the stack's own does.
 */
import { access, chmod, chown, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from './child-process.ts';
import { AS_ROOT, freePort, ownedFolder, run } from './throwaway.ts';

/** Debian's PostgreSQL 15, the stack's. */
export const PG15: PostgresBuild = { bin: '/usr/lib/postgresql/15/bin', libraryPath: null };

/** A PostgreSQL build: its programs, and the folder its shared libraries are found in when not the system's. */
export interface PostgresBuild {
  readonly bin: string;
  readonly libraryPath: string | null;
}
/** Every value read as the server's text, as test/support/pg.ts reads the stack's. */
const TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface ThrowawayPostgresOptions {
  /** Names its folder; folders of this prefix left by killed test processes are swept. */
  readonly prefix: string;
  /** Settings appended to the stack's (the last value of a setting wins). */
  readonly settings?: string;
  /** pg_hba.conf; the stack's (everything trusted) by default. */
  readonly hba?: string;
  /** Files written into the data folder, readable by the server only (a TLS key must be). */
  readonly files?: Readonly<Record<string, string>>;
  /** `NAME=value`s the server runs with (LD_PRELOAD, ...). */
  readonly env?: readonly string[];
  /** Another PostgreSQL than Debian's 15 (test/support/postgres-17.ts). */
  readonly build?: PostgresBuild;
}

export interface ThrowawayPostgres {
  readonly port: number;
  /** The data folder (the server runs as the `postgres` OS user when the tests run as root). */
  readonly data: string;
  readonly build: PostgresBuild;
  /** Connection string of database `name` as the trusted superuser `postgres`. */
  url(name: string): string;
  /** Runs one statement on database `database` (default `postgres`) in a connection of its own. */
  query(sql: string, params?: readonly unknown[], database?: string): Promise<pg.QueryResult>;
  /** Stops the server and deletes its folder; idempotent. */
  stop(): Promise<void>;
}

export async function startThrowawayPostgres(options: ThrowawayPostgresOptions): Promise<ThrowawayPostgres> {
  const base = AS_ROOT ? await postgresHome() : tmpdir();
  const build = options.build ?? PG15;
  const folder = await ownedFolder(base, options.prefix, (old) => stopServer(build, join(old, 'data')));
  await giveToPostgres(folder);
  const data = join(folder, 'data');
  const log = join(folder, 'postgres.log');
  let port = 0;
  const stop = async () => {
    await stopServer(build, data);
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await asPostgres(build, [
      `${build.bin}/initdb`,
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    port = await freePort();
    // The stack's settings, on this cluster's port; no Unix socket (tests connect over TCP).
    const settings = (await readFile(join(REPO_ROOT, 'stack/postgres/postgresql.conf'), 'utf8'))
      .replaceAll('@PG_PORT@', String(port))
      .replaceAll('@PG_SOCKET_DIR@', '');
    await writeFile(join(data, 'cdc.conf'), `${settings}\n${options.settings ?? ''}\n`);
    await writeFile(join(data, 'postgresql.conf'), "\ninclude 'cdc.conf'\n", { flag: 'a' });
    const hba = options.hba ?? (await readFile(join(REPO_ROOT, 'stack/postgres/pg_hba.conf'), 'utf8'));
    await writeFile(join(data, 'pg_hba.conf'), hba);
    const own = [join(data, 'cdc.conf'), join(data, 'pg_hba.conf'), log];
    for (const [name, content] of Object.entries(options.files ?? {})) {
      await writeFile(join(data, name), content, { mode: 0o600 });
      await chmod(join(data, name), 0o600);
      own.push(join(data, name));
    }
    await writeFile(log, '');
    await giveToPostgres(...own);
    await asPostgres(build, [
      ...(options.env === undefined ? [] : ['env', ...options.env]),
      `${build.bin}/pg_ctl`,
      'start',
      '-D',
      data,
      '-l',
      log,
      '-w',
      '-t',
      '60',
      '-s',
    ]).catch(async (error: unknown) => {
      const tail = (await readFile(log, 'utf8').catch(() => '')).slice(-2_000);
      throw new Error(`the test's own PostgreSQL did not start: ${tail}`, { cause: error });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  let stopped = false;
  return {
    port,
    data,
    build,
    url,
    async query(sql, params = [], database = 'postgres') {
      const client = new pg.Client({ connectionString: url(database), types: TEXT });
      await client.connect();
      try {
        return await client.query(sql, params as unknown[]);
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stop();
    },
  };
}

/** Stops a server of these folders: fast, then immediate (its data is thrown away anyway). */
export async function stopServer(build: PostgresBuild, data: string): Promise<void> {
  try {
    await access(join(data, 'postmaster.pid'));
  } catch {
    return;
  }
  await asPostgres(build, [
    `${build.bin}/pg_ctl`,
    'stop',
    '-D',
    data,
    '-m',
    'fast',
    '-w',
    '-t',
    '30',
    '-s',
  ]).catch(() =>
    asPostgres(build, [`${build.bin}/pg_ctl`, 'stop', '-D', data, '-m', 'immediate', '-w', '-t', '30', '-s']),
  );
}

/** Runs a PostgreSQL program as the user PostgreSQL runs as (root cannot), from `/` (it may not enter ours). */
export async function asPostgres(build: PostgresBuild, command: readonly string[]): Promise<void> {
  const withLibraries =
    build.libraryPath === null ? command : ['env', `LD_LIBRARY_PATH=${build.libraryPath}`, ...command];
  const [file, ...args] = AS_ROOT ? ['runuser', '-u', 'postgres', '--', ...withLibraries] : withLibraries;
  await run(file!, args, { cwd: '/' });
}

export async function giveToPostgres(...paths: readonly string[]): Promise<void> {
  if (!AS_ROOT) return;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  for (const path of paths) await chown(path, Number(stdout.trim()), Number(group.trim()));
}

export async function postgresHome(): Promise<string> {
  const { stdout } = await run('getent', ['passwd', 'postgres']);
  return stdout.split(':')[5]?.trim() || '/var/lib/postgresql';
}
