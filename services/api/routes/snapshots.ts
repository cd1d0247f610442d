/** `POST /snapshots`: asks a source's connector for a (re-)snapshot, run alongside streaming. */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { errorResponse } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

interface SnapshotRequest {
  readonly source: string;
  readonly tables?: readonly string[];
}

const snapshotRequest = {
  type: 'object',
  required: ['source'],
  additionalProperties: false,
  properties: {
    source: { type: 'string', minLength: 1 },
    tables: { type: 'array', maxItems: 1_000, items: { type: 'string', minLength: 1 } },
  },
} as const;

const snapshotAccepted = {
  type: 'object',
  required: ['source', 'tables'],
  properties: { source: { type: 'string' }, tables: { type: 'array', items: { type: 'string' } } },
} as const;

export function snapshotRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.post<{ Body: SnapshotRequest }>(
      '/snapshots',
      {
        schema: {
          summary: "Snapshot a source's tables again, alongside streaming",
          tags: ['pipeline'],
          body: snapshotRequest,
          response: { 202: snapshotAccepted, 404: errorResponse },
        },
      },
      async (request, reply) => {
        const { source } = request.body;
        const tables = request.body.tables ?? [];
        const names = status.connectors().map((connector) => connector.name);
        if (!names.includes(source)) {
          throw new CdcError(
            'NOT_FOUND',
            `no source named ${JSON.stringify(source)} (sources: ${names.join(', ') || 'none'})`,
            {
              source,
            },
          );
        }
        await status.requestSnapshot(source, tables);
        request.log.info({ source, tables }, 'snapshot requested');
        return reply.status(202).send({ source, tables });
      },
    );
    done();
  };
  return register;
}
