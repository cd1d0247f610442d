/**
 * The API's one error handler: every failure answers `{ error: { code, message } }` with the status the
 * error catalog assigns to the code. CdcErrors keep their code; request validation failures (fastify's
 * schemas or zod) become REQUEST_INVALID naming the field; fastify's own client errors (bad JSON, wrong
 * content type) keep their status; anything else is an INTERNAL 500 and is logged with its stack.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../common/error-codes.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { formatIssues } from '../config/issues.ts';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

interface Mapped {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

interface ValidationFailure {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = mapError(error);
    if (mapped.status >= 500) request.log.error({ err: error }, `${request.method} ${request.url} failed`);
    else
      request.log.info({ code: mapped.code }, `${request.method} ${request.url} rejected: ${mapped.message}`);
    return reply.status(mapped.status).send(errorBody(mapped.code, mapped.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`)),
  );
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export function mapError(error: unknown): Mapped {
  if (error instanceof CdcError)
    return { status: error.httpStatus, code: error.code, message: error.message };
  if (error instanceof ZodError) {
    return { status: 400, code: 'REQUEST_INVALID', message: formatIssues(error.issues).join('; ') };
  }
  if (error !== null && typeof error === 'object') {
    const record = error as { validation?: unknown; validationContext?: unknown; statusCode?: unknown };
    if (Array.isArray(record.validation)) {
      const context = typeof record.validationContext === 'string' ? record.validationContext : 'request';
      const lines = (record.validation as ValidationFailure[]).map((failure) =>
        describeValidation(context, failure),
      );
      return { status: 400, code: 'REQUEST_INVALID', message: lines.join('; ') };
    }
    if (typeof record.statusCode === 'number' && record.statusCode >= 400 && record.statusCode < 500) {
      return { status: record.statusCode, code: 'REQUEST_INVALID', message: errorMessage(error) };
    }
  }
  return {
    status: ERROR_CODES.INTERNAL.http,
    code: 'INTERNAL',
    message: `internal error: ${errorMessage(error)}`,
  };
}

/** `body.tables[0]: must be string`, in the same `<path>: <why>` shape as configuration errors. */
function describeValidation(context: string, failure: ValidationFailure): string {
  const segments = (failure.instancePath ?? '')
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`));
  let path = `${context}${segments.join('')}`;
  const params = failure.params ?? {};
  if (failure.keyword === 'required' && typeof params.missingProperty === 'string') {
    return `${path}.${params.missingProperty}: is required`;
  }
  if (failure.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    path = `${path}.${params.additionalProperty}`;
    return `${path}: unknown key`;
  }
  return `${path}: ${failure.message ?? 'is invalid'}`;
}
