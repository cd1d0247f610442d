/**
 * Decides what a failure of the MariaDB/MySQL target means: a lost connection, a deadlock, a lock wait
 * timeout or a server shutting down is worth a retry; anything the data itself caused (a duplicate key, a
 * value out of range) is not, and the message carries the server's text naming the value.
 */
import { isRetriable } from '../../../common/errors.ts';
import type { TargetErrorJudgement } from '../target-errors.ts';

/** Server errors after which the same statement can succeed: deadlock, lock wait timeout, query interrupted. */
const RETRIABLE_ERRNOS = new Set([1205, 1213, 1317]);
/** Server errors that mean the session is gone: shutdown, killed connection, too many connections, gone away. */
const CONNECTION_ERRNOS = new Set([
  1040, 1053, 1077, 1152, 1153, 1158, 1159, 1160, 1161, 1927, 2002, 2003, 2006, 2013, 4031,
]);

interface DriverError {
  readonly errno?: unknown;
  readonly code?: unknown;
  readonly fatal?: unknown;
  readonly sqlState?: unknown;
}

function driverError(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? error : {};
}

/** True when the error means the connection cannot be used any more. */
export function connectionLost(error: unknown): boolean {
  const { errno, code, fatal } = driverError(error);
  if (fatal === true) return true;
  if (typeof errno === 'number' && CONNECTION_ERRNOS.has(errno)) return true;
  if (typeof code === 'string' && (code.startsWith('PROTOCOL_') || code.startsWith('ECONN'))) return true;
  return isRetriable(error);
}

export function judgeMysqlError(error: unknown, connectionBroken: boolean): TargetErrorJudgement {
  const { errno, sqlState } = driverError(error);
  return {
    connectionLost: connectionBroken || connectionLost(error) || typeof errno !== 'number',
    retriable: typeof errno === 'number' && RETRIABLE_ERRNOS.has(errno),
    detail: '',
    fields: {
      errno: typeof errno === 'number' ? errno : null,
      sqlState: typeof sqlState === 'string' ? sqlState : null,
    },
  };
}
