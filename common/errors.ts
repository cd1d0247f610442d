/**
 * The one error model: a stable code from the catalog, whether retrying can help, the cause, and structured
 * fields for logs and the API. Code that decides whether to retry walks the cause chain (isRetriable).
 */
import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export type ErrorFields = Record<string, string | number | boolean | null | undefined>;

export class CdcError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly fields: ErrorFields;

  constructor(
    code: ErrorCode,
    message: string,
    fields: ErrorFields = {},
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CdcError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.fields = fields;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

/** Network-level failures that are worth a retry whatever library raised them. */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);

/** True when some error in the cause chain says a retry can help (and none before it said it cannot). */
export function isRetriable(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current !== undefined && current !== null && depth < 10;
    depth++
  ) {
    if (current instanceof CdcError) return current.retriable;
    if (typeof current === 'object') {
      const record = current as { code?: unknown; retriable?: unknown; cause?: unknown };
      if (typeof record.retriable === 'boolean') return record.retriable;
      if (typeof record.code === 'string' && TRANSIENT_NODE_CODES.has(record.code)) return true;
      current = record.cause;
    } else {
      return false;
    }
  }
  return false;
}

/** Wraps anything thrown into a CdcError, keeping the original as the cause. */
export function asCdcError(
  error: unknown,
  code: ErrorCode,
  message: string,
  fields: ErrorFields = {},
): CdcError {
  if (error instanceof CdcError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new CdcError(code, `${message}: ${detail}`, fields, { cause: error, retriable: isRetriable(error) });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
