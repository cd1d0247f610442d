/**
 * `POST /verify`: compares a replica with its source in key-range chunks and answers with the report
 * (200) once done: the request lasts as long as the comparison (seconds for 100k rows). `POST /jobs/verify`
 * starts the same comparison as a job and answers 202 with its id at once; `GET /jobs/:id` follows it
 * (routes/jobs.ts). `equal: false` is a result, not an error; a table that cannot be compared is listed
 * under `failures`. 501 when the process cannot reach the databases (no verify in its StatusProvider).
 *
 * A comparison reads whole tables on both sides, so the request is bounded: at most `MAX_VERIFY_TABLES`
 * tables and `MAX_CHUNK_ROWS` rows per chunk, and at most `api.verifyConcurrency` comparisons at a time in
 * the process, both routes together; one more is answered 429 (API_BUSY) at once rather than queued.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { errorResponse } from '../response-schemas.ts';
import type { StatusProvider, VerifyRequest } from '../status-types.ts';
import { MAX_CHUNK_ROWS } from '../../verify/verify-table.ts';
import type { JobRegistry } from '../jobs.ts';
import { jobView } from './jobs.ts';

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
    'columnsNotCompared',
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
    columnsNotCompared: { type: 'array', items: { type: 'string' } },
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

export function verifyRoutes(status: StatusProvider, jobs: JobRegistry) {
  /** The process's comparison, or OPERATION_UNSUPPORTED (501) at once when it cannot reach the databases. */
  const verifier = (): NonNullable<StatusProvider['verify']> => {
    const verify = status.verify?.bind(status);
    if (verify === undefined) {
      throw new CdcError('OPERATION_UNSUPPORTED', 'this process cannot verify replicas (no database access)');
    }
    return verify;
  };
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
        const verify = verifier();
        const report = await jobs.runNow(() => verify(request.body));
        request.log.info(
          { replica: report.replica, equal: report.equal, tables: report.tables.length },
          'replica verified',
        );
        return report;
      },
    );

    app.post<{ Body: VerifyRequest }>(
      '/jobs/verify',
      {
        schema: {
          summary:
            "Start comparing a replica's rows with its source's as a job; follow it with GET /jobs/:id",
          tags: ['pipeline'],
          body: verifyRequest,
          response: { 202: jobView, 400: errorResponse, 429: errorResponse, 501: errorResponse },
        },
      },
      async (request, reply) => {
        const verify = verifier();
        const job = jobs.start((onProgress) => verify(request.body, { onProgress }));
        request.log.info({ job: job.id, replica: request.body.replica }, 'verify job started');
        return reply.status(202).send(job);
      },
    );
    done();
  };
  return register;
}
