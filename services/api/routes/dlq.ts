/**
 * Dead letters: `GET /dlq` lists a replica's dead letters with their reasons (paged by offset, filtered by
 * table); `POST /dlq/replay` starts replaying them into the replica once their cause is fixed (202, with the
 * replay's progress); `GET /dlq/replay` follows it. Served by processes that hold the configuration.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import type { DeadLetterControl } from '../../dlq/dlq-control.ts';
import { errorResponse } from '../response-schemas.ts';

interface ListQuery {
  readonly replica?: string;
  readonly table?: string;
  readonly from?: string;
  readonly limit?: string;
}

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    replica: { type: 'string', minLength: 1 },
    table: { type: 'string', minLength: 1 },
    from: { type: 'string', pattern: '^[0-9]{1,19}$' },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

const page = {
  type: 'object',
  required: ['replica', 'topic', 'low', 'high', 'replayFrom', 'entries', 'next'],
  properties: {
    replica: { type: 'string' },
    topic: { type: 'string' },
    low: { type: 'string' },
    high: { type: 'string' },
    replayFrom: { type: 'string' },
    next: nullableString,
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['offset', 'at', 'table', 'op', 'position', 'code', 'reason', 'source', 'replayed'],
        properties: {
          offset: { type: 'string' },
          at: { type: 'string' },
          table: nullableString,
          op: nullableString,
          position: nullableString,
          code: { type: 'string' },
          reason: { type: 'string' },
          source: { type: 'string' },
          replayed: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const replicaQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { replica: { type: 'string', minLength: 1 } },
} as const;

const progress = {
  type: 'object',
  required: [
    'replica',
    'state',
    'from',
    'until',
    'next',
    'replayed',
    'alreadyReplayed',
    'otherReplicas',
    'error',
    'startedAt',
    'finishedAt',
  ],
  properties: {
    replica: { type: 'string' },
    state: { type: 'string', enum: ['running', 'done', 'failed'] },
    from: { type: 'string' },
    until: { type: 'string' },
    next: { type: 'string' },
    replayed: { type: 'integer' },
    alreadyReplayed: { type: 'integer' },
    otherReplicas: { type: 'integer' },
    error: nullableString,
    startedAt: { type: 'string' },
    finishedAt: nullableString,
  },
} as const;

export function dlqRoutes(control: DeadLetterControl) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get<{ Querystring: ListQuery }>(
      '/dlq',
      {
        schema: {
          summary: "A page of a replica's dead letters, oldest first",
          tags: ['dead letters'],
          querystring: listQuery,
          response: { 200: page, 400: errorResponse, 404: errorResponse },
        },
      },
      async (request) => {
        const { replica, table, from, limit } = request.query;
        return control.list({
          ...(replica !== undefined ? { replica } : {}),
          ...(table !== undefined ? { table } : {}),
          ...(from !== undefined ? { from: BigInt(from) } : {}),
          ...(limit !== undefined ? { limit: Number(limit) } : {}),
        });
      },
    );

    app.post<{ Body: { replica?: string } | undefined }>(
      '/dlq/replay',
      {
        schema: {
          summary: "Apply a replica's dead letters again, in order, each once",
          tags: ['dead letters'],
          response: { 202: progress, 400: errorResponse, 404: errorResponse, 409: errorResponse },
        },
      },
      async (request, reply) => {
        const replica = replicaOf(request.body);
        const started = await control.replay(replica);
        request.log.info(
          { replica: started.replica, from: started.from, until: started.until },
          'replay requested',
        );
        return reply.status(202).send(started);
      },
    );

    app.get<{ Querystring: { replica?: string } }>(
      '/dlq/replay',
      {
        schema: {
          summary: "The progress of a replica's dead-letter replay",
          tags: ['dead letters'],
          querystring: replicaQuery,
          response: { 200: progress, 400: errorResponse, 404: errorResponse },
        },
      },
      (request) => {
        const current = control.replayStatus(request.query.replica);
        if (current === null)
          throw new CdcError('NOT_FOUND', 'no replay was started in this process', {
            replica: request.query.replica ?? null,
          });
        return Promise.resolve(current);
      },
    );
    done();
  };
  return register;
}

/** The body is optional (one replica needs no name), so it is checked here rather than by a body schema. */
function replicaOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const replica = (body as { replica?: unknown }).replica;
  if (
    typeof body !== 'object' ||
    Array.isArray(body) ||
    (replica !== undefined && typeof replica !== 'string')
  )
    throw new CdcError('REQUEST_INVALID', 'body: expected {"replica": "<name>"} or nothing', {});
  return replica;
}
