/**
 * `POST /connectors/:name/pause|resume` and `POST /workers/:name/pause|resume`, named as `/status` lists
 * them (connectors by source name, workers by replica name). A pause answers once the connector stopped
 * reading or the worker stopped applying; both are idempotent. The answer is the item's status afterwards.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { connectorStatus, errorResponse, workerStatus } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

type Kind = 'connector' | 'worker';

const ROUTES: readonly { readonly kind: Kind; readonly path: string; readonly schema: object }[] = [
  { kind: 'connector', path: '/connectors', schema: connectorStatus },
  { kind: 'worker', path: '/workers', schema: workerStatus },
];

export function pauseRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    for (const { kind, path, schema } of ROUTES) {
      for (const action of ['pause', 'resume'] as const) {
        app.post<{ Params: { name: string } }>(
          `${path}/:name/${action}`,
          {
            schema: {
              summary: `${action === 'pause' ? 'Pause' : 'Resume'} a ${kind === 'connector' ? 'connector (by source name)' : 'apply worker (by replica name)'}`,
              tags: ['pipeline'],
              response: { 200: schema, 404: errorResponse, 501: errorResponse },
            },
          },
          async (request) => {
            const { name } = request.params;
            if (status.setPaused === undefined) {
              throw new CdcError('OPERATION_UNSUPPORTED', `this process cannot ${action} a ${kind}`, {
                name,
              });
            }
            await status.setPaused(kind, name, action === 'pause');
            request.log.info({ kind, name }, `${kind} ${action}d`);
            const items = kind === 'connector' ? status.connectors() : status.workers();
            return items.find((item) => item.name === name);
          },
        );
      }
    }
    done();
  };
  return register;
}
