/**
 * Decides what a failure of the PostgreSQL target means: a lost connection, a deadlock or a server shutting
 * down is worth a retry; anything the data itself caused (a constraint, a bad value) is not, and the message
 * carries PostgreSQL's detail naming the value.
 */
import { isRetriable } from '../../../common/errors.ts';
import { ident } from './sql.ts';
import type { TargetErrorJudgement } from '../target-errors.ts';
import { originGrant } from './origin-functions.ts';

/** SQLSTATE classes and codes where trying again can succeed. */
const RETRIABLE_CLASSES = new Set(['08', '53', '57']);
const RETRIABLE_CODES = new Set(['40001', '40P01', '55P03']);

function sqlState(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

function clientSideError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}

/**
 * `user` is the role the sink connects as (the URL's), named in the GRANT that fixes a missing privilege.
 */
export function judgePostgresError(
  error: unknown,
  connectionBroken: boolean,
  user: string | null = null,
): TargetErrorJudgement {
  const state = sqlState(error);
  const detail =
    typeof error === 'object' && error !== null ? (error as { detail?: unknown }).detail : undefined;
  return {
    // Without a SQLSTATE the server never judged the statement: the connection failed under it (pg reports a
    // dropped socket as a plain "Connection terminated" error, sometimes before its 'end' event fires). A
    // TypeError or RangeError is the exception: a value the client could not even send (serializing a
    // parameter), which a retry would only repeat forever.
    connectionLost:
      connectionBroken ||
      (state === null && !clientSideError(error)) ||
      (state !== null && RETRIABLE_CLASSES.has(state.slice(0, 2))) ||
      isRetriable(error),
    retriable: state !== null && RETRIABLE_CODES.has(state),
    detail: typeof detail === 'string' ? detail : '',
    fields: { sqlState: state },
    ...(state === '42501' ? { privilege: { grant: grantFor(error, user) } } : {}),
  };
}

/**
 * The GRANT behind an insufficient_privilege error, read from PostgreSQL's message (`permission denied for
 * schema x`, `... for database x`, `... for function f`, `must be owner of table t`), which names the
 * object but not the role: the role is the sink's.
 */
function grantFor(error: unknown, user: string | null): string | null {
  const message = error instanceof Error ? error.message : '';
  const role = user === null ? 'the replica user' : ident(user);
  const denied = /permission denied for (database|schema|function|table|relation|sequence) (.+)$/.exec(
    message,
  );
  if (denied !== null) {
    const [, kind, name] = denied as unknown as [string, string, string];
    const object = name.replace(/^"(.*)"$/, '$1');
    switch (kind) {
      case 'database':
        return `GRANT CONNECT, CREATE ON DATABASE ${ident(object)} TO ${role}`;
      case 'schema':
        return `GRANT USAGE, CREATE ON SCHEMA ${ident(object)} TO ${role}`;
      case 'function':
        return object.startsWith('pg_replication_origin_')
          ? `${originGrant(user ?? 'the replica user')} (or set origin: false)`
          : `GRANT EXECUTE ON FUNCTION ${object} TO ${role}`;
      default:
        return `GRANT SELECT, INSERT, UPDATE, DELETE ON ${object} TO ${role}`;
    }
  }
  const owner = /must be owner of (table|relation|type|schema) (.+)$/.exec(message);
  if (owner !== null) {
    const [, kind, name] = owner as unknown as [string, string, string];
    return `ALTER ${kind === 'relation' ? 'TABLE' : kind.toUpperCase()} ${name} OWNER TO ${role}`;
  }
  return null;
}
