/**
 * `POST /verify`: compares a replica with its source in key-range chunks and answers with the report
 * (200), synchronously: the request lasts as long as the comparison (seconds for 100k rows), which keeps the
 * API free of job state. `equal: false` is a result, not an error; a table that cannot be compared is listed
 * under `failures`. 501 when the process cannot reach the databases (no verify in its StatusProvider).
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { errorResponse } from '../response-schemas.ts';
import type { StatusProvider, VerifyRequest } from '../status-types.ts';

const verifyRequest = {
  type: 'object',
  required: ['replica'],
  additionalProperties: false,
  properties: {
    replica: { type: 'string', minLength: 1 },
    source: { type: 'string', minLength: 1 },
    tables: { type: 'array', items: { type: 'string', minLength: 1 } },
    chunkRows: { type: 'integer', minimum: 1 },
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

export function verifyRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.post<{ Body: VerifyRequest }>(
      '/verify',
      {
        schema: {
          summary: "Compare a replica's rows with its source's",
          tags: ['pipeline'],
          body: verifyRequest,
          response: { 200: verifyReport, 400: errorResponse, 404: errorResponse, 501: errorResponse },
        },
      },
      async (request) => {
        if (status.verify === undefined) {
          throw new CdcError(
            'OPERATION_UNSUPPORTED',
            'this process cannot verify replicas (no database access)',
          );
        }
        const report = await status.verify(request.body);
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
