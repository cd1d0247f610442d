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

/** Access denied: to a database (1044), for a command on a table (1142) or column (1143), lacking a privilege (1227). */
const PRIVILEGE_ERRNOS = new Set([1044, 1142, 1143, 1227]);

/** `user` is the account the sink connects as (the URL's), named in the GRANT when the message does not say. */
export function judgeMysqlError(
  error: unknown,
  connectionBroken: boolean,
  user: string | null = null,
): TargetErrorJudgement {
  const { errno, sqlState } = driverError(error);
  const privilege =
    typeof errno === 'number' && PRIVILEGE_ERRNOS.has(errno)
      ? { privilege: { grant: grantFor(error, user) } }
      : {};
  return {
    ...privilege,
    // No errno: the server never answered (a connection failure), unless the client could not even send the
    // statement (a TypeError or RangeError serializing a value), which a retry would only repeat forever.
    connectionLost:
      connectionBroken ||
      connectionLost(error) ||
      (typeof errno !== 'number' && !(error instanceof TypeError || error instanceof RangeError)),
    retriable: typeof errno === 'number' && RETRIABLE_ERRNOS.has(errno),
    detail: '',
    fields: {
      errno: typeof errno === 'number' ? errno : null,
      sqlState: typeof sqlState === 'string' ? sqlState : null,
    },
  };
}

/**
 * The GRANT behind an access-denied error, read from the server's message:
 *   1044 `Access denied for user 'u'@'h' to database 'd'`
 *   1142 `CREATE command denied to user 'u'@'h' for table `d`.`t``
 *   1227 `Access denied; you need (at least one of) the BINLOG REPLAY privilege(s) for this operation`
 */
function grantFor(error: unknown, user: string | null): string | null {
  const message = error instanceof Error ? error.message : '';
  const fallback = user === null ? 'the replica user' : `'${user.replaceAll("'", "\\'")}'@'%'`;
  const account = /user ('[^']*'@'[^']*')/.exec(message)?.[1] ?? fallback;
  const database = /to database '([^']+)'/.exec(message)?.[1];
  if (database !== undefined)
    return `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON \`${database}\`.* TO ${account}`;
  const command = /^(\w+) command denied .* for table `([^`]+)`\.`([^`]+)`/.exec(message);
  if (command !== null) return `GRANT ${command[1]} ON \`${command[2]}\`.* TO ${account}`;
  const needed = /you need \(at least one of\) the (.+?) privilege\(s\)/.exec(message)?.[1];
  if (needed !== undefined) {
    // The server lists SUPER first where a narrower privilege also does: the narrower one is the least.
    const choices = needed.split(',').map((name) => name.trim());
    return `GRANT ${choices.find((name) => name !== 'SUPER') ?? choices[0]} ON *.* TO ${account}`;
  }
  return null;
}
