/**
 * Which MySQL/MariaDB client errors a reconnect can fix. mysql2 marks connection-level failures `fatal` and
 * gives them codes such as PROTOCOL_CONNECTION_LOST, which the generic check does not know; server errors
 * with a number are permanent unless they say the connection or server went away.
 */
import { isRetriable } from '../../../common/errors.ts';

const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);
/**
 * ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED, CR_SERVER_LOST, CR_SERVER_GONE_ERROR,
 * ER_QUERY_INTERRUPTED, and ER_TABLE_DEF_CHANGED: DDL on a table after the snapshot transaction began makes
 * its next chunk read fail; a new consistent snapshot (the retry) reads the table as it is now.
 */
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1927, 2013, 2006, 1317, 1412]);

export function isTransientMysqlError(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 10;
    depth++
  ) {
    const record = current as { code?: unknown; errno?: unknown; fatal?: unknown; cause?: unknown };
    if (typeof record.code === 'string' && TRANSIENT_CODES.has(record.code)) return true;
    if (typeof record.errno === 'number' && TRANSIENT_ERRNOS.has(record.errno)) return true;
    current = record.cause;
  }
  return isRetriable(error);
}
