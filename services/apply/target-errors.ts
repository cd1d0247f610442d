/**
 * Turns a failure of the target database into a CdcError, the same way on every target: a lost connection
 * is TARGET_UNREACHABLE, anything else APPLY_FAILED, retriable when a dialect judges that trying again can
 * succeed (a deadlock, a lock wait timeout, a server shutting down). The dialect judges; this builds.
 */
import { CdcError, type ErrorFields } from '../../common/errors.ts';

export interface TargetErrorJudgement {
  /** The session is gone (or the server never judged the statement). */
  readonly connectionLost: boolean;
  /** The same statement can succeed on a retry. */
  readonly retriable: boolean;
  /** The server's own words beyond the message (PostgreSQL's DETAIL), or ''. */
  readonly detail: string;
  /** What identifies the error on this target (SQLSTATE, errno). */
  readonly fields: ErrorFields;
}

export function targetError(
  error: unknown,
  message: string,
  fields: ErrorFields,
  judgement: TargetErrorJudgement,
): CdcError {
  if (error instanceof CdcError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new CdcError(
    judgement.connectionLost ? 'TARGET_UNREACHABLE' : 'APPLY_FAILED',
    `${message}: ${reason}${judgement.detail === '' ? '' : ` (${judgement.detail})`}`,
    { ...fields, ...judgement.fields },
    { cause: error, retriable: judgement.connectionLost || judgement.retriable },
  );
}
