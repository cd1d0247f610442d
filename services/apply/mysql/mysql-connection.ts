/**
 * One session with a MariaDB/MySQL target: UTC, strict, exact numbers and dates as text, and optionally a
 * session `server_id` of our own that marks every replicated write (origin marking, see mysql-sink.ts).
 */
import mysql, { type Connection, type ResultSetHeader } from 'mysql2/promise';
import { CdcError, isRetriable } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { RunResult, Statement, TargetConnection } from '../sql-dialect.ts';
import { targetError, targetUnreachable } from '../target-errors.ts';
import { judgeMysqlError } from './target-errors.ts';
import { mysqlConnectOptions, mysqlSecurityError } from '../../../common/connect/mysql-url.ts';

const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

export class MysqlConnection implements TargetConnection {
  readonly connection: Connection;
  private failed = false;

  private constructor(connection: Connection) {
    this.connection = connection;
  }

  static async open(
    url: string,
    originServerId: number | undefined,
    logger: Logger,
  ): Promise<MysqlConnection> {
    const parsed = new URL(url);
    let connection: Connection;
    try {
      connection = await mysql.createConnection({
        ...mysqlConnectOptions(url),
        charset: 'utf8mb4',
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        timezone: 'Z',
      });
    } catch (error) {
      throw targetUnreachable(error, mysqlSecurityError(error, url, 'cannot connect to the target database'));
    }
    const session = new MysqlConnection(connection);
    connection.on('error', (error: unknown) => {
      session.failed = true;
      logger.warn({ err: error }, 'target connection failed');
    });
    try {
      // UTC, so TIMESTAMP columns of MySQL sources take the connector's UTC text as it is; strict, so a value
      // the column cannot hold fails (and is dead-lettered) instead of being truncated.
      await connection.query(
        `SET SESSION time_zone = '+00:00', sql_mode = ?, explicit_defaults_for_timestamp = ON`,
        [SESSION_SQL_MODE],
      );
      if (originServerId !== undefined) await markOrigin(connection, originServerId, parsed.username);
    } catch (error) {
      connection.destroy();
      throw error instanceof CdcError
        ? error
        : targetError(
            error,
            'cannot set up the target session',
            {},
            judgeMysqlError(error, false, decodeURIComponent(parsed.username)),
          );
    }
    return session;
  }

  get broken(): boolean {
    return this.failed;
  }

  async run(statement: Statement): Promise<RunResult> {
    const [result] = await this.connection.query(statement.text, statement.values);
    if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], count: result.length };
    // The connection reports matched rows (CLIENT_FOUND_ROWS), so an update to equal values counts too.
    return { rows: [], count: (result as ResultSetHeader).affectedRows };
  }

  async close(): Promise<void> {
    const broken = this.failed;
    this.failed = true;
    // A broken session is gone already: destroying it only releases the socket.
    if (broken) this.connection.destroy();
    else await this.connection.end();
  }
}

async function markOrigin(connection: Connection, serverId: number, user: string): Promise<void> {
  try {
    await connection.query('SET SESSION server_id = ?', [serverId]);
  } catch (error) {
    const cause = targetError(
      error,
      'setting the session server_id that marks replicated writes failed (origin: false turns marking off)',
      {},
      judgeMysqlError(error, false, decodeURIComponent(user)),
    );
    if (isRetriable(cause) || cause.code === 'TARGET_PRIVILEGE') throw cause;
    throw new CdcError(
      'APPLY_FAILED',
      `cannot mark replicated writes with server_id ${serverId} (needs BINLOG REPLAY on MariaDB or SUPER on MySQL; or turn origin marking off): ${cause.message}`,
      { serverId },
      { cause: error },
    );
  }
}
