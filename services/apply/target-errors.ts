/**
 * Turns a failure of the target database into a CdcError, the same way on every target: a lost connection
 * is TARGET_UNREACHABLE, anything else APPLY_FAILED, retriable when a dialect judges that trying again can
 * succeed (a deadlock, a lock wait timeout, a server shutting down). A missing privilege is TARGET_PRIVILEGE,
 * with the GRANT that fixes it when the dialect can tell. The dialect judges; this builds.
 */
import { CdcError, errorMessage, type ErrorFields } from '../../common/errors.ts';

export interface TargetErrorJudgement {
  /** The session is gone (or the server never judged the statement). */
  readonly connectionLost: boolean;
  /** The same statement can succeed on a retry. */
  readonly retriable: boolean;
  /** The server's own words beyond the message (PostgreSQL's DETAIL), or ''. */
  readonly detail: string;
  /** What identifies the error on this target (SQLSTATE, errno). */
  readonly fields: ErrorFields;
  /** Set when the user lacks a privilege: the statement that grants it, when the error says enough to write it. */
  readonly privilege?: { readonly grant: string | null };
}

/**
 * Failures no event is to blame for: applying event by event or dead-lettering would only repeat them, so
 * they stop the worker as they are (another worker applied the stream meanwhile; a privilege is missing).
 */
export function stopsApplying(error: unknown): boolean {
  return (
    error instanceof CdcError && (error.code === 'APPLY_STALE_WORKER' || error.code === 'TARGET_PRIVILEGE')
  );
}

export function targetError(
  error: unknown,
  message: string,
  fields: ErrorFields,
  judgement: TargetErrorJudgement,
): CdcError {
  if (error instanceof CdcError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (judgement.privilege !== undefined) {
    const { grant } = judgement.privilege;
    return new CdcError(
      'TARGET_PRIVILEGE',
      `${message}: ${reason}; ${grant === null ? 'grant the privilege it names' : `fix: ${grant}`} (cdc grants prints every grant the replica needs)`,
      { ...fields, ...judgement.fields },
      { cause: error, retriable: false },
    );
  }
  return new CdcError(
    judgement.connectionLost ? 'TARGET_UNREACHABLE' : 'APPLY_FAILED',
    `${message}: ${reason}${judgement.detail === '' ? '' : ` (${judgement.detail})`}`,
    { ...fields, ...judgement.fields },
    { cause: error, retriable: judgement.connectionLost || judgement.retriable },
  );
}

/**
 * A target session that could not be opened: as `refused` when the server refused it for a reason of security
 * (not retried), else TARGET_UNREACHABLE, retried.
 */
export function targetUnreachable(error: unknown, refused: CdcError | null): CdcError {
  return (
    refused ??
    new CdcError(
      'TARGET_UNREACHABLE',
      `cannot connect to the target database: ${errorMessage(error)}`,
      {},
      {
        cause: error,
        retriable: true,
      },
    )
  );
}
