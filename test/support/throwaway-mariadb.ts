/**
 * A MariaDB server of a test's own (the stack's stays untouched), for scenarios that stop, kill or re-role a
 * server: the stack's settings (stack/mariadb/my.cnf: ROW binlog with GTIDs, gtid_strict_mode) plus the test's
 * (`settings`, e.g. its own server_id), a data folder of its own, a free port on 127.0.0.1. Root reaches it
 * over its Unix socket for the test's own setup. shutdown() stops it cleanly, kill() as a crash would
 * (SIGKILL); stop() shuts it down and deletes the folder.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { REPO_ROOT } from './child-process.ts';
import { AS_ROOT, freePort, ownedFolder, run } from './throwaway.ts';
import { waitFor } from './wait.ts';

export interface ThrowawayMariadb {
  readonly port: number;
  /** `mysql://user:password@127.0.0.1:port/database`. */
  url(user: string, password: string, database: string): string;
  /** Runs statements as root over the socket (several per call); the rows of the last one. */
  query(sql: string, params?: readonly unknown[]): Promise<mysql.RowDataPacket[]>;
  /** Clean shutdown; the folder stays (stop() removes it). */
  shutdown(): Promise<void>;
  /** SIGKILL, as a crash: what was not yet sent to a replica never is. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const cnfOf = (folder: string) => join(folder, 'my.cnf');

async function shutdownServer(folder: string): Promise<void> {
  await run('mariadb-admin', [`--defaults-file=${cnfOf(folder)}`, '--connect-timeout=5', 'shutdown']).catch(
    () => undefined,
  );
}

/**
 * mariadb-install-db into `<folder>/data`. It once failed on a loaded machine without a lasting cause, so a
 * failure is tried once more on an empty data folder; the error of a second failure carries the server's log.
 */
async function installSystemTables(folder: string, user: readonly string[]): Promise<void> {
  const install = () =>
    run('mariadb-install-db', [
      `--defaults-file=${cnfOf(folder)}`,
      ...user,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
  const logTail = async () => (await readFile(join(folder, 'err'), 'utf8').catch(() => '')).slice(-3_000);
  try {
    await install();
  } catch (first) {
    const firstLog = await logTail();
    // Shown in the test run's output so the cause can be read even when the second try succeeds.
    process.stderr.write(`mariadb-install-db failed, trying once more: ${String(first)}\n${firstLog}\n`);
    await rm(join(folder, 'data'), { recursive: true, force: true });
    await rm(join(folder, 'err'), { force: true });
    await install().catch(async (error: unknown) => {
      throw new Error(
        `mariadb-install-db failed twice; first log: ${firstLog}\nsecond log: ${await logTail()}`,
        { cause: [first, error] },
      );
    });
  }
}

export async function startThrowawayMariadb(settings: readonly string[]): Promise<ThrowawayMariadb> {
  const folder = await ownedFolder(tmpdir(), 'cdc-throwaway-maria-', shutdownServer);
  const port = await freePort();
  const socket = join(folder, 'sock');
  const base = (await readFile(join(REPO_ROOT, 'stack/mariadb/my.cnf'), 'utf8'))
    .replaceAll('@MARIADB_DATA@', join(folder, 'data'))
    .replaceAll('@MARIADB_PORT@', String(port))
    .replaceAll('@MARIADB_SOCKET@', socket)
    .replaceAll('@MARIADB_PID@', join(folder, 'pid'))
    .replaceAll('@MARIADB_ERR@', join(folder, 'err'));
  // A group may appear twice in an option file; the later value wins.
  const own = ['[mariadbd]', 'innodb_buffer_pool_size = 32M', ...settings].join('\n');
  await writeFile(cnfOf(folder), `${base}\n${own}\n`);
  const user = AS_ROOT ? ['--user=root'] : [];
  const remove = async () => {
    await shutdownServer(folder);
    await rm(folder, { recursive: true, force: true });
  };
  const connect = () =>
    mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true });
  try {
    await installSystemTables(folder, user);
    // Detached, so the server is not bound to the test's terminal; stop() shuts it down.
    spawn('mariadbd', [`--defaults-file=${cnfOf(folder)}`, ...user], {
      detached: true,
      stdio: 'ignore',
    }).unref();
    const first = await waitFor('the throwaway MariaDB to accept connections on its socket', connect, {
      timeoutMs: 60_000,
      intervalMs: 100,
    }).catch(async (error: unknown) => {
      const log = await readFile(join(folder, 'err'), 'utf8').catch(() => '');
      throw new Error(`the throwaway MariaDB did not start: ${log.slice(-2_000)}`, { cause: error });
    });
    await first.end();
  } catch (error) {
    await remove();
    throw error;
  }
  let stopped = false;
  return {
    port,
    url: (name, password, database) =>
      `mysql://${name}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async query(sql, params = []) {
      const connection = await connect();
      try {
        const [result] = await connection.query(sql, params as unknown[]);
        const last: unknown = Array.isArray(result) && Array.isArray(result.at(-1)) ? result.at(-1) : result;
        return Array.isArray(last) ? (last as mysql.RowDataPacket[]) : [];
      } finally {
        await connection.end();
      }
    },
    shutdown: () => shutdownServer(folder),
    async kill() {
      const pid = Number((await readFile(join(folder, 'pid'), 'utf8')).trim());
      process.kill(pid, 'SIGKILL');
      await waitFor(
        'the killed MariaDB to be gone',
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await remove();
    },
  };
}
