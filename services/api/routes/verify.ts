/**
 * `POST /verify`: compares a replica with its source in key-range chunks and answers with the report
 * (200), synchronously: the request lasts as long as the comparison (seconds for 100k rows), which keeps the
 * API free of job state. `equal: false` is a result, not an error; a table that cannot be compared is listed
 * under `failures`. 501 when the process cannot reach the databases (no verify in its StatusProvider).
 *
 * A comparison reads whole tables on both sides, so the request is bounded: at most `MAX_VERIFY_TABLES`
 * tables and `MAX_CHUNK_ROWS` rows per chunk, and at most `concurrency` comparisons at a time in the
 * process; one more is answered 429 (API_BUSY) at once rather than queued behind the others.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { errorResponse } from '../response-schemas.ts';
import type { StatusProvider, VerifyRequest } from '../status-types.ts';
import { MAX_CHUNK_ROWS } from '../../verify/verify-table.ts';

export const MAX_VERIFY_TABLES = 1_000;

const verifyRequest = {
  type: 'object',
  required: ['replica'],
  additionalProperties: false,
  properties: {
    replica: { type: 'string', minLength: 1 },
    source: { type: 'string', minLength: 1 },
    tables: { type: 'array', maxItems: MAX_VERIFY_TABLES, items: { type: 'string', minLength: 1 } },
    chunkRows: { type: 'integer', minimum: 1, maximum: MAX_CHUNK_ROWS },
  },
} as const;

const rowKey = { type: 'object', additionalProperties: { type: 'string' } } as const;
const nullableRowKey = { type: ['object', 'null'], additionalProperties: { type: 'string' } } as const;

const differingRange = {
  type: 'object',
  required: [
    'from',
    'to',
    'sourceRows',
    'targetRows',
    'missingOnTarget',
    'extraOnTarget',
    'differentRows',
    'missingCount',
    'extraCount',
    'differentCount',
  ],
  properties: {
    from: nullableRowKey,
    to: nullableRowKey,
    sourceRows: { type: 'integer' },
    targetRows: { type: 'integer' },
    missingOnTarget: { type: 'array', items: rowKey },
    extraOnTarget: { type: 'array', items: rowKey },
    differentRows: { type: 'array', items: rowKey },
    missingCount: { type: 'integer' },
    extraCount: { type: 'integer' },
    differentCount: { type: 'integer' },
  },
} as const;

const tableReport = {
  type: 'object',
  required: [
    'table',
    'targetTable',
    'chunks',
    'sourceRows',
    'targetRows',
    'equal',
    'differingRanges',
    'columnsMissingOnTarget',
    'rechecks',
    'durationMs',
  ],
  properties: {
    table: { type: 'string' },
    targetTable: { type: 'string' },
    chunks: { type: 'integer' },
    sourceRows: { type: 'integer' },
    targetRows: { type: 'integer' },
    equal: { type: 'boolean' },
    differingRanges: { type: 'array', items: differingRange },
    columnsMissingOnTarget: { type: 'array', items: { type: 'string' } },
    rechecks: { type: 'integer' },
    durationMs: { type: 'integer' },
  },
} as const;

export const verifyReport = {
  type: 'object',
  required: ['source', 'replica', 'equal', 'tables', 'failures', 'durationMs'],
  properties: {
    source: { type: 'string' },
    replica: { type: 'string' },
    equal: { type: 'boolean' },
    tables: { type: 'array', items: tableReport },
    failures: {
      type: 'array',
      items: {
        type: 'object',
        required: ['table', 'code', 'message'],
        properties: { table: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
    durationMs: { type: 'integer' },
  },
} as const;

export function verifyRoutes(status: StatusProvider, concurrency: number) {
  let running = 0;
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.post<{ Body: VerifyRequest }>(
      '/verify',
      {
        schema: {
          summary: "Compare a replica's rows with its source's",
          tags: ['pipeline'],
          body: verifyRequest,
          response: {
            200: verifyReport,
            400: errorResponse,
            404: errorResponse,
            429: errorResponse,
            501: errorResponse,
          },
        },
      },
      async (request) => {
        if (status.verify === undefined) {
          throw new CdcError(
            'OPERATION_UNSUPPORTED',
            'this process cannot verify replicas (no database access)',
          );
        }
        if (running >= concurrency) {
          throw new CdcError(
            'API_BUSY',
            `${running} verify run${running === 1 ? ' is' : 's are'} already running (api.verifyConcurrency is ${concurrency}): try again when ${running === 1 ? 'it has' : 'one has'} ended`,
          );
        }
        running += 1;
        let report;
        try {
          report = await status.verify(request.body);
        } finally {
          running -= 1;
        }
        request.log.info(
          { replica: report.replica, equal: report.equal, tables: report.tables.length },
          'replica verified',
        );
        return report;
      },
    );
    done();
  };
  return register;
}
