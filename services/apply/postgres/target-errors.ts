/**
 * Decides what a failure of the PostgreSQL target means: a lost connection, a deadlock or a server shutting
 * down is worth a retry; anything the data itself caused (a constraint, a bad value) is not, and the message
 * carries PostgreSQL's detail naming the value.
 */
import { isRetriable } from '../../../common/errors.ts';
import type { TargetErrorJudgement } from '../target-errors.ts';

/** SQLSTATE classes and codes where trying again can succeed. */
const RETRIABLE_CLASSES = new Set(['08', '53', '57']);
const RETRIABLE_CODES = new Set(['40001', '40P01', '55P03']);

function sqlState(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

export function judgePostgresError(error: unknown, connectionBroken: boolean): TargetErrorJudgement {
  const state = sqlState(error);
  const detail =
    typeof error === 'object' && error !== null ? (error as { detail?: unknown }).detail : undefined;
  return {
    // Without a SQLSTATE the server never judged the statement: the connection failed under it (pg reports a
    // dropped socket as a plain "Connection terminated" error, sometimes before its 'end' event fires).
    connectionLost:
      connectionBroken || state === null || RETRIABLE_CLASSES.has(state.slice(0, 2)) || isRetriable(error),
    retriable: state !== null && RETRIABLE_CODES.has(state),
    detail: typeof detail === 'string' ? detail : '',
    fields: { sqlState: state },
  };
}
