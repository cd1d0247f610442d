/**
 * A MariaDB server that takes TLS, of a test's own (the stack's stays untouched): the stack's settings
 * (stack/mariadb/my.cnf: binlog in ROW format with GTIDs, what capture needs) with the test certificates
 * (test-certificates.ts), a data folder of its own, a free port on 127.0.0.1. Its certificate names localhost
 * (VERIFY_IDENTITY needs a host name: mysql-url.ts), or, to test a wrong host name, db.wrong-host.invalid. Its
 * user `cdc_tls` (all privileges, a random password) is created with REQUIRE SSL; root reaches it over its Unix
 * socket for the test's own setup. stop() shuts it down and deletes the folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { REPO_ROOT } from './child-process.ts';
import { testCertificates, type TestCertificates } from './test-certificates.ts';
import { AS_ROOT, freePort, ownedFolder, run } from './throwaway.ts';
import { waitFor } from './wait.ts';

export const TLS_USER = 'cdc_tls';

export interface TlsMariadb {
  readonly port: number;
  readonly certificates: TestCertificates;
  /** The password of TLS_USER, which no error may show. */
  readonly password: string;
  /** URL of database `name` as TLS_USER with the password and `query` (TLS parameters), on `host`. */
  userUrl(name: string, query: string, host?: string): string;
  /** Runs statements as root over the socket (several per call). */
  query(sql: string, params?: readonly unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

const cnfOf = (folder: string) => join(folder, 'my.cnf');

/** Shuts the server of `folder` down over its socket; nothing to do when none runs. */
async function shutdown(folder: string): Promise<void> {
  await run('mariadb-admin', [`--defaults-file=${cnfOf(folder)}`, '--connect-timeout=5', 'shutdown']).catch(
    () => undefined,
  );
}

export async function startTlsMariadb(certificate: 'server' | 'wrong-host' = 'server'): Promise<TlsMariadb> {
  const certificates = await testCertificates();
  const [certFile, keyFile] =
    certificate === 'server'
      ? [certificates.serverCertFile, certificates.serverKeyFile]
      : [certificates.wrongHostCertFile, certificates.wrongHostKeyFile];
  const folder = await ownedFolder(tmpdir(), 'cdc-tls-maria-', shutdown);
  const port = await freePort();
  const socket = join(folder, 'sock');
  const base = (await readFile(join(REPO_ROOT, 'stack/mariadb/my.cnf'), 'utf8'))
    .replaceAll('@MARIADB_DATA@', join(folder, 'data'))
    .replaceAll('@MARIADB_PORT@', String(port))
    .replaceAll('@MARIADB_SOCKET@', socket)
    .replaceAll('@MARIADB_PID@', join(folder, 'pid'))
    .replaceAll('@MARIADB_ERR@', join(folder, 'err'));
  // A group may appear twice in an option file; the later value wins.
  const tls = [
    '[mariadbd]',
    `ssl_cert = ${certFile}`,
    `ssl_key = ${keyFile}`,
    `ssl_ca = ${certificates.caFile}`,
    'innodb_buffer_pool_size = 32M',
  ].join('\n');
  await writeFile(cnfOf(folder), `${base}\n${tls}\n`);
  const user = AS_ROOT ? ['--user=root'] : [];
  const stop = async () => {
    await shutdown(folder);
    await rm(folder, { recursive: true, force: true });
  };
  let admin: mysql.Connection;
  try {
    await run('mariadb-install-db', [
      `--defaults-file=${cnfOf(folder)}`,
      ...user,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    // Detached, so the server is not bound to the test's terminal; stop() shuts it down.
    spawn('mariadbd', [`--defaults-file=${cnfOf(folder)}`, ...user], {
      detached: true,
      stdio: 'ignore',
    }).unref();
    admin = await waitFor(
      'the TLS MariaDB to accept connections on its socket',
      () => mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true }),
      { timeoutMs: 60_000, intervalMs: 100 },
    ).catch(async (error: unknown) => {
      const log = await readFile(join(folder, 'err'), 'utf8').catch(() => '');
      throw new Error(`the TLS MariaDB did not start: ${log.slice(-2_000)}`, { cause: error });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const password = randomBytes(12).toString('hex');
  // The user is no change to capture; what the tests write afterwards is.
  await admin.query(
    `SET SESSION sql_log_bin = 0; CREATE USER ${TLS_USER}@'%' IDENTIFIED BY '${password}' REQUIRE SSL;
     GRANT ALL PRIVILEGES ON *.* TO ${TLS_USER}@'%'; SET SESSION sql_log_bin = 1`,
  );
  let stopped = false;
  return {
    port,
    certificates,
    password,
    userUrl: (name, query, host = 'localhost') =>
      `mysql://${TLS_USER}:${password}@${host}:${port}/${name}${query === '' ? '' : `?${query}`}`,
    query: async (sql, params = []) => (await admin.query(sql, params as unknown[]))[0],
    async stop() {
      if (stopped) return;
      stopped = true;
      await admin.end().catch(() => undefined);
      await stop();
    },
  };
}
