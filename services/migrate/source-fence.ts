/**
 * The old MariaDB source at cutover: the write fence, its final GTID position, and fence ticks.
 *
 * The fence is `SET GLOBAL read_only = ON`: it waits for commits in flight, then refuses writes from every
 * session without the READ_ONLY ADMIN privilege (MariaDB 10.5.2+; SUPER before), so application users are
 * stopped at once while the service's own privileged session can still write its ticks. A tick is a one-row
 * write to `cdc_migrate.fence`, a table nobody captures: the binlog connector reports such transactions as
 * heartbeats (at most every heartbeatIntervalMs), which is how the published position reaches the fence
 * position even when nothing else is written.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { parseMariadbPosition, type MariadbGtidPosition } from '../../schemas/positions/mariadb-gtid.ts';
import { CdcError, asCdcError } from '../../common/errors.ts';
import { mysqlConnectOptions, mysqlSecurityError } from '../../common/connect/mysql-url.ts';

export class SourceFence {
  readonly #connection: Connection;
  readonly #migration: string;
  #tickReady = false;
  /** True once this session set read_only, so a failed cutover knows what to undo. */
  readOnlySet = false;

  private constructor(connection: Connection, migration: string) {
    this.#connection = connection;
    this.#migration = migration;
  }

  static async open(url: string, migration: string): Promise<SourceFence> {
    const parts = mysqlConnectOptions(url);
    try {
      const connection = await mysql.createConnection({ ...parts, charset: 'utf8mb4' });
      return new SourceFence(connection, migration);
    } catch (error) {
      throw (
        mysqlSecurityError(error, url, 'cannot connect to the source to fence it') ??
        asCdcError(error, 'SOURCE_UNREACHABLE', `cannot connect to ${parts.host}:${parts.port}`)
      );
    }
  }

  /** Is the server read-only already (a fence from an earlier, interrupted cutover)? */
  async isReadOnly(): Promise<boolean> {
    const [rows] = await this.#connection.query('SELECT @@GLOBAL.read_only AS ro');
    return Number((rows as { ro: unknown }[])[0]?.ro) === 1;
  }

  async setReadOnly(): Promise<void> {
    try {
      await this.#connection.query('SET GLOBAL read_only = ON');
      this.readOnlySet = true;
    } catch (error) {
      throw privilegeError(error, 'SET GLOBAL read_only = ON');
    }
  }

  async releaseReadOnly(): Promise<void> {
    await this.#connection.query('SET GLOBAL read_only = OFF');
    this.readOnlySet = false;
  }

  /** `@@gtid_binlog_pos`: what the binlog holds (the connector checkpoints the same variable). */
  async binlogPosition(): Promise<MariadbGtidPosition> {
    const [rows] = await this.#connection.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const text = (rows as { pos: unknown }[])[0]?.pos;
    if (typeof text !== 'string') {
      throw new CdcError(
        'SOURCE_NOT_CONFIGURED',
        'the source reports no gtid_binlog_pos: is log_bin on?',
        {},
      );
    }
    return parseMariadbPosition(text);
  }

  /** Writes one uncaptured transaction so the binlog, and with it the capture, moves on. */
  async tick(): Promise<void> {
    try {
      if (!this.#tickReady) {
        await this.#connection.query('CREATE DATABASE IF NOT EXISTS `cdc_migrate`');
        await this.#connection.query(
          'CREATE TABLE IF NOT EXISTS `cdc_migrate`.`fence` (migration varchar(255) PRIMARY KEY, at datetime(6) NOT NULL) ENGINE=InnoDB',
        );
        this.#tickReady = true;
      }
      await this.#connection.query(
        'INSERT INTO `cdc_migrate`.`fence` (migration, at) VALUES (?, now(6)) ON DUPLICATE KEY UPDATE at = now(6)',
        [this.#migration],
      );
    } catch (error) {
      throw privilegeError(error, 'a fence tick into cdc_migrate.fence');
    }
  }

  async close(): Promise<void> {
    await this.#connection.end();
  }
}

function privilegeError(error: unknown, what: string): CdcError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new CdcError(
      'SOURCE_PRIVILEGE',
      `cannot run ${what} on the source: the cutover user needs READ_ONLY ADMIN (or SUPER) and CREATE, INSERT, UPDATE on cdc_migrate.*`,
      {},
      { cause: error },
    );
  }
  return asCdcError(error, 'SOURCE_UNREACHABLE', `cannot run ${what} on the source`);
}
