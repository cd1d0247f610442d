/**
 * `GET /replicas`: every replica of this process with its lag and whether it is within `maxLagMs`, and why
 * not (lag-aware routing). `GET /replicas/:name/wait`: read-your-writes, answering once the replica holds
 * everything its source had committed up to `position` (services/pipeline/replica-wait.ts): 200 with its
 * applied position, 408 (WAIT_TIMED_OUT) after `timeoutMs`, 400 for a malformed token or one of another
 * dialect, 404 for an unknown replica, 429 past `api.waitConcurrency` open waits, 501 where this process does
 * not run both the replica's worker and its source's capture. Both need the `read` scope.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { routeReplica } from '../replica-lag.ts';
import { errorResponse } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

const DEFAULT_WAIT_MS = 10_000;
/** A wait holds a request open: a minute at most, so a client's bug cannot pile requests up for ever. */
export const MAX_WAIT_MS = 60_000;

const nullableString = { type: ['string', 'null'] } as const;

const replicaRoute = {
  type: 'object',
  required: ['name', 'source', 'state', 'lagMillis', 'appliedPosition', 'withinBound', 'reason'],
  properties: {
    name: { type: 'string' },
    source: { type: 'string' },
    state: { type: 'string' },
    lagMillis: { type: ['number', 'null'] },
    appliedPosition: nullableString,
    withinBound: { type: 'boolean' },
    reason: nullableString,
  },
} as const;

const waitResult = {
  type: 'object',
  required: ['replica', 'source', 'position', 'appliedPosition', 'waitedMillis'],
  properties: {
    replica: { type: 'string' },
    source: { type: 'string' },
    position: { type: 'string' },
    appliedPosition: nullableString,
    waitedMillis: { type: 'integer' },
  },
} as const;

interface ListQuery {
  readonly maxLagMs?: string;
}

interface WaitQuery {
  readonly position: string;
  readonly timeoutMs?: string;
}

export function replicaRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get<{ Querystring: ListQuery }>(
      '/replicas',
      {
        schema: {
          summary: 'Every replica of this process: its lag, and whether it is within maxLagMs (and why not)',
          tags: ['replicas'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            // Query values are strings (no type coercion in this API): whole numbers checked by pattern.
            properties: { maxLagMs: { type: 'string', pattern: '^[0-9]{1,10}$' } },
          },
          response: {
            200: {
              type: 'object',
              required: ['maxLagMs', 'replicas'],
              properties: {
                maxLagMs: { type: ['integer', 'null'] },
                replicas: { type: 'array', items: replicaRoute },
              },
            },
            400: errorResponse,
          },
        },
      },
      (request) => {
        const maxLagMs = request.query.maxLagMs === undefined ? null : Number(request.query.maxLagMs);
        return { maxLagMs, replicas: status.workers().map((worker) => routeReplica(worker, maxLagMs)) };
      },
    );

    app.get<{ Params: { name: string }; Querystring: WaitQuery }>(
      '/replicas/:name/wait',
      {
        schema: {
          summary:
            'Read-your-writes: answers once the replica holds everything its source committed up to position',
          tags: ['replicas'],
          params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          querystring: {
            type: 'object',
            required: ['position'],
            additionalProperties: false,
            properties: {
              position: { type: 'string', minLength: 1, maxLength: 4096 },
              timeoutMs: { type: 'string', pattern: '^[0-9]{1,10}$' },
            },
          },
          response: {
            200: waitResult,
            400: errorResponse,
            404: errorResponse,
            408: errorResponse,
            429: errorResponse,
            501: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const timeoutMs =
          request.query.timeoutMs === undefined ? DEFAULT_WAIT_MS : Number(request.query.timeoutMs);
        if (timeoutMs < 1 || timeoutMs > MAX_WAIT_MS)
          throw new CdcError(
            'REQUEST_INVALID',
            `querystring/timeoutMs: ${timeoutMs} is not from 1 to ${MAX_WAIT_MS} (ms)`,
          );
        if (status.waitForReplica === undefined)
          throw new CdcError('OPERATION_UNSUPPORTED', 'this process does not run a pipeline to wait on');
        // A client that gives up closes the connection: its wait ends with it.
        const closed = new AbortController();
        reply.raw.once('close', () => closed.abort());
        return status.waitForReplica(request.params.name, request.query.position, timeoutMs, closed.signal);
      },
    );
    done();
  };
  return register;
}
