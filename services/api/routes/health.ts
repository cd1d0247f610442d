/**
 * Liveness and readiness. `/health` answers while the process serves requests at all; `/ready` only when
 * every connector is capturing (streaming or snapshotting) and every apply worker is running, and otherwise
 * lists why not, so a load balancer or an operator sees the reason without reading logs.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { StatusProvider } from '../status-types.ts';

const readyResponse = {
  type: 'object',
  required: ['ready', 'reasons'],
  properties: { ready: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } },
} as const;

export function healthRoutes(status: StatusProvider) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get(
      '/health',
      { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
      () => ({ status: 'ok' }),
    );

    app.get(
      '/ready',
      { schema: { response: { 200: readyResponse, 503: readyResponse } } },
      (_request, reply) => {
        const reasons = notReadyReasons(status);
        return reply.status(reasons.length === 0 ? 200 : 503).send({ ready: reasons.length === 0, reasons });
      },
    );
    done();
  };
  return register;
}

export function notReadyReasons(status: StatusProvider): string[] {
  const reasons: string[] = [];
  const connectors = status.connectors();
  if (connectors.length === 0) reasons.push('no connector is running');
  for (const connector of connectors) {
    if (connector.state !== 'streaming' && connector.state !== 'snapshotting') {
      reasons.push(`connector ${connector.name} is ${connector.state}${because(connector.lastError)}`);
    }
  }
  for (const worker of status.workers()) {
    if (worker.state !== 'running')
      reasons.push(`apply worker ${worker.name} is ${worker.state}${because(worker.lastError)}`);
  }
  return reasons;
}

function because(lastError: string | null): string {
  return lastError === null ? '' : `: ${lastError}`;
}
