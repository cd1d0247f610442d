/**
 * `POST /connectors/:name/resnapshot`: a PostgreSQL source's capture starts over from a new slot (a lost or
 * invalidated one is dropped) and copies every captured table again, each replacing the replicas' copy, so the
 * replicas end equal to the source after changes were lost with the slot. Answers 202 with the connector's
 * status once the capture was asked; `/status` shows the re-snapshot (`resnapshot`, `snapshot`) as it runs.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import { connectorStatus, errorResponse } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

export function resnapshotRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.post<{ Params: { name: string } }>(
      '/connectors/:name/resnapshot',
      {
        schema: {
          summary:
            'Re-snapshot a PostgreSQL source from a new slot, replacing the replicas (after a lost slot)',
          tags: ['pipeline'],
          response: { 202: connectorStatus, 404: errorResponse, 501: errorResponse },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        if (status.resnapshot === undefined)
          throw new CdcError('OPERATION_UNSUPPORTED', 'this process cannot re-snapshot a connector', {
            name,
          });
        await status.resnapshot(name);
        request.log.warn({ connector: name }, 're-snapshot requested');
        return reply.status(202).send(status.connectors().find((item) => item.name === name));
      },
    );
    done();
  };
  return register;
}
