/** `GET /status`: every connector and apply worker, as the pipeline reports them. */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { connectorStatus, workerStatus } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

export function statusRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get(
      '/status',
      {
        schema: {
          summary: 'Every connector and apply worker of this process: state, positions, lag, errors',
          tags: ['pipeline'],
          response: {
            200: {
              type: 'object',
              required: ['connectors', 'workers'],
              properties: {
                connectors: { type: 'array', items: connectorStatus },
                workers: { type: 'array', items: workerStatus },
              },
            },
          },
        },
      },
      () => ({ connectors: status.connectors(), workers: status.workers() }),
    );
    done();
  };
  return register;
}
