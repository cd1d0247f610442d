/**
 * Liveness and readiness. `/health` answers while the process serves requests at all; `/ready` only when
 * every connector is capturing (streaming or snapshotting) and every apply worker is running (or either is
 * paused on purpose) and no replica with `readyMaxLagMs` lags more than that, and otherwise lists why not, so a load balancer or an operator sees the reason without
 * reading logs. A process running one role (`cdc run --role apply`) is ready on that role alone.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { lagNotReadyReasons } from '../replica-lag.ts';
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
      {
        config: { access: 'probe' },
        schema: {
          summary: 'Liveness: 200 while the process is alive',
          tags: ['health'],
          response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
        },
      },
      () => ({ status: 'ok' }),
    );

    app.get(
      '/ready',
      {
        config: { access: 'probe' },
        schema: {
          summary:
            'Readiness: 200 when every connector and apply worker of this process runs, else 503 with the reasons',
          tags: ['health'],
          response: { 200: readyResponse, 503: readyResponse },
        },
      },
      (_request, reply) => {
        const reasons = notReadyReasons(status);
        return reply.status(reasons.length === 0 ? 200 : 503).send({ ready: reasons.length === 0, reasons });
      },
    );
    done();
  };
  return register;
}

/** A paused connector or worker is where its operator wants it: it does not make the process unready. */
const CONNECTOR_READY = new Set(['streaming', 'snapshotting', 'paused', 'standby']);

export function notReadyReasons(status: StatusProvider): string[] {
  const reasons: string[] = [];
  const connectors = status.connectors();
  const workers = status.workers();
  // A process may run only capture or only apply (`--role`): it needs something to run, not both.
  if (connectors.length === 0 && workers.length === 0)
    reasons.push('no connector or apply worker is running');
  for (const connector of connectors) {
    if (!CONNECTOR_READY.has(connector.state)) {
      reasons.push(`connector ${connector.name} is ${connector.state}${because(connector.lastError)}`);
    }
  }
  for (const worker of workers) {
    if (worker.state !== 'running' && worker.state !== 'paused')
      reasons.push(`apply worker ${worker.name} is ${worker.state}${because(worker.lastError)}`);
  }
  const bounds = status.readyLagBounds?.();
  if (bounds !== undefined) reasons.push(...lagNotReadyReasons(workers, bounds));
  return reasons;
}

function because(lastError: string | null): string {
  return lastError === null ? '' : `: ${lastError}`;
}
