/**
 * A second PostgreSQL 15 cluster whose clock runs ahead of the machine's, for the clock-skew test: libfaketime
 * (Debian's `libfaketime`, installed by stack/install.sh) is preloaded into the server, so now(),
 * clock_timestamp() and the commit timestamps last-writer-wins compares (track_commit_timestamp) all run ahead,
 * while the stack's cluster keeps the true time. It has the stack's settings (stack/postgres/postgresql.conf),
 * a data folder of its own and a free loopback port; stop() stops it and deletes the folder.
 *
 * As root, PostgreSQL runs as the `postgres` OS user (as stack/lib/services.sh runs the stack's), which may be
 * unable to enter the checkout or a root-only temporary folder: the cluster then lives in that user's home
 * folder, as the stack's own does. Each folder names the process that started it, so one left behind by a test
 * process that was killed is stopped and deleted by the next start.
 */
import { execFile } from 'node:child_process';
import { access, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO_ROOT } from './child-process.ts';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'x86_64', arm64: 'aarch64' };
const FAKETIME_LIB = `/usr/lib/${ARCH[process.arch] ?? process.arch}-linux-gnu/faketime/libfaketime.so.1`;
const FOLDER_PREFIX = 'cdc-skew-';
const AS_ROOT = process.getuid?.() === 0;
/** Every value read as the server's text, as test/support/pg.ts reads the stack's. */
const TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface SkewedPostgres {
  /** How far its clock runs ahead of the machine's, in seconds. */
  readonly aheadSeconds: number;
  /** Connection string of database `name` on this cluster (superuser `postgres`, trusted). */
  url(name: string): string;
  /** Runs one statement on database `database` (default `postgres`) in a connection of its own. */
  query(sql: string, params?: readonly unknown[], database?: string): Promise<pg.QueryResult>;
  /** Stops the server and deletes its folder; idempotent. */
  stop(): Promise<void>;
}

/** Starts a cluster whose clock runs `aheadSeconds` ahead. */
export async function startSkewedPostgres(aheadSeconds: number): Promise<SkewedPostgres> {
  await access(FAKETIME_LIB).catch((error: unknown) => {
    throw new Error(`${FAKETIME_LIB} is missing: install Debian's libfaketime (bash stack/install.sh does)`, {
      cause: error,
    });
  });
  const base = AS_ROOT ? await postgresHome() : tmpdir();
  await sweepAbandoned(base);
  const folder = AS_ROOT
    ? join(base, `${FOLDER_PREFIX}${randomBytes(4).toString('hex')}`)
    : await mkdtemp(join(base, FOLDER_PREFIX));
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await writeFile(join(folder, 'owner'), `${process.pid}\n`);
  await giveToPostgres(folder);
  const data = join(folder, 'data');
  const log = join(folder, 'postgres.log');
  let port = 0;
  const stop = async () => {
    await stopServer(data);
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await asPostgres([
      `${PG_BIN}/initdb`,
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
    await writeFile(join(data, 'cdc.conf'), settings);
    await writeFile(join(data, 'postgresql.conf'), "\ninclude 'cdc.conf'\n", { flag: 'a' });
    await writeFile(
      join(data, 'pg_hba.conf'),
      await readFile(join(REPO_ROOT, 'stack/postgres/pg_hba.conf'), 'utf8'),
    );
    await writeFile(log, '');
    await giveToPostgres(join(data, 'cdc.conf'), join(data, 'pg_hba.conf'), log);
    // The offset applies to the wall clock only: timeouts and waits (monotonic clock) keep their real length.
    await asPostgres([
      'env',
      `LD_PRELOAD=${FAKETIME_LIB}`,
      `FAKETIME=+${aheadSeconds}s`,
      'FAKETIME_DONT_FAKE_MONOTONIC=1',
      `${PG_BIN}/pg_ctl`,
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
      throw new Error(`the skewed PostgreSQL did not start: ${tail}`, { cause: error });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  let stopped = false;
  return {
    aheadSeconds,
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
async function stopServer(data: string): Promise<void> {
  try {
    await access(join(data, 'postmaster.pid'));
  } catch {
    return;
  }
  await asPostgres([`${PG_BIN}/pg_ctl`, 'stop', '-D', data, '-m', 'fast', '-w', '-t', '30', '-s']).catch(() =>
    asPostgres([`${PG_BIN}/pg_ctl`, 'stop', '-D', data, '-m', 'immediate', '-w', '-t', '30', '-s']),
  );
}

/** Stops and deletes clusters whose test process is gone (it was killed before it could clean up). */
async function sweepAbandoned(base: string): Promise<void> {
  const names = (await readdir(base).catch(() => [])).filter((name) => name.startsWith(FOLDER_PREFIX));
  for (const name of names) {
    const folder = join(base, name);
    const owner = Number((await readFile(join(folder, 'owner'), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    await stopServer(join(folder, 'data')).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs a PostgreSQL program as the user PostgreSQL runs as (root cannot), from `/` (it may not enter ours). */
async function asPostgres(command: readonly string[]): Promise<void> {
  const [file, ...args] = AS_ROOT ? ['runuser', '-u', 'postgres', '--', ...command] : command;
  await run(file!, args, { cwd: '/' });
}

async function giveToPostgres(...paths: readonly string[]): Promise<void> {
  if (!AS_ROOT) return;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  for (const path of paths) await chown(path, Number(stdout.trim()), Number(group.trim()));
}

async function postgresHome(): Promise<string> {
  const { stdout } = await run('getent', ['passwd', 'postgres']);
  return stdout.split(':')[5]?.trim() || '/var/lib/postgresql';
}

/** A loopback port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
