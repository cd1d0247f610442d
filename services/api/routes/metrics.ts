/**
 * `GET /metrics` in Prometheus text format. Lag gauges are refreshed from the status provider at scrape
 * time: status is where lag is computed (in milliseconds), so the gauges cannot go stale when nothing else
 * sets them. They are exported in seconds, Prometheus' base unit.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { CdcMetrics } from '../../metrics/metrics.ts';
import type { StatusProvider } from '../status-types.ts';

export function metricsRoutes(status: StatusProvider, metrics: CdcMetrics) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get('/metrics', async (_request, reply) => {
      refreshLagGauges(status, metrics);
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    });
    done();
  };
  return register;
}

function refreshLagGauges(status: StatusProvider, metrics: CdcMetrics): void {
  for (const connector of status.connectors()) {
    if (connector.lagBytes !== null)
      metrics.captureLagBytes.set({ connector: connector.name }, connector.lagBytes);
    if (connector.lagMillis !== null)
      metrics.captureLagSeconds.set({ connector: connector.name }, connector.lagMillis / 1000);
  }
  for (const worker of status.workers()) {
    if (worker.lagMillis !== null)
      metrics.applyLagSeconds.set({ replica: worker.name }, worker.lagMillis / 1000);
  }
}
