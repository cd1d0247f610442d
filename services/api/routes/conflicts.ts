/**
 * `GET /conflicts`: the conflicts the replicas of this pipeline recorded in their targets, oldest first per
 * target, filtered by replica (link), table, time (`since` inclusive, `until` exclusive, ISO 8601), policy and
 * kind, a page at a time (`limit`, then `cursor` = the previous page's `next`).
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { CONFLICT_KINDS, type ConflictKind, type ConflictLister } from '../../pipeline/conflict-list.ts';
import { errorResponse } from '../response-schemas.ts';

interface ListQuery {
  readonly replica?: string;
  readonly table?: string;
  readonly since?: string;
  readonly until?: string;
  readonly policy?: string;
  readonly kind?: ConflictKind;
  readonly cursor?: string;
  readonly limit?: string;
}

const ISO_TIME =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$';

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    replica: { type: 'string', minLength: 1 },
    table: { type: 'string', minLength: 1 },
    since: { type: 'string', pattern: ISO_TIME },
    until: { type: 'string', pattern: ISO_TIME },
    policy: { type: 'string', minLength: 1 },
    kind: { type: 'string', enum: CONFLICT_KINDS },
    cursor: { type: 'string', pattern: '^[0-9]{1,4}\\.[0-9]{1,19}$' },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
/** Row images and keys as the target recorded them: any JSON. */
const anyJson = {} as const;

const page = {
  type: 'object',
  required: ['entries', 'next'],
  properties: {
    next: nullableString,
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'replica', 'detectedAt', 'table', 'kind', 'policy', 'outcome'],
        properties: {
          id: { type: 'string' },
          replica: { type: 'string' },
          detectedAt: { type: 'string' },
          table: { type: 'string' },
          key: anyJson,
          kind: { type: 'string' },
          policy: { type: 'string' },
          outcome: { type: 'string' },
          local: anyJson,
          remote: anyJson,
          localOrigin: nullableString,
          remoteOrigin: nullableString,
          localCommitTs: nullableString,
          remoteCommitTs: nullableString,
        },
      },
    },
  },
} as const;

const DEFAULT_LIMIT = 100;

export function conflictRoutes(conflicts: ConflictLister) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get<{ Querystring: ListQuery }>(
      '/conflicts',
      {
        schema: {
          summary: "A page of the conflicts the pipeline's replicas recorded, oldest first per target",
          tags: ['conflicts'],
          querystring: listQuery,
          response: { 200: page, 400: errorResponse, 404: errorResponse, 503: errorResponse },
        },
      },
      async (request) => {
        const { since, until, limit, ...filters } = request.query;
        return conflicts.list({
          ...filters,
          ...(since !== undefined ? { since: instant('since', since) } : {}),
          ...(until !== undefined ? { until: instant('until', until) } : {}),
          limit: limit !== undefined ? Number(limit) : DEFAULT_LIMIT,
        });
      },
    );
    done();
  };
  return register;
}

/** The pattern let through only ISO shapes; a date such as 2026-02-31 still has to be a real one. */
function instant(field: string, text: string): Date {
  const at = new Date(text);
  if (Number.isNaN(at.getTime()))
    throw new CdcError('REQUEST_INVALID', `querystring.${field}: ${JSON.stringify(text)} is not a time`, {});
  return at;
}
