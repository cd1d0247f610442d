/**
 * `GET /metrics` in Prometheus text format. Lag gauges are refreshed from the status provider at scrape
 * time: status is where lag is computed (in milliseconds), so the gauges cannot go stale when nothing else
 * sets them. They are exported in seconds, Prometheus' base unit.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { Gauge } from 'prom-client';
import type { CdcMetrics } from '../../metrics/metrics.ts';
import type { StatusProvider } from '../status-types.ts';

export function metricsRoutes(status: StatusProvider, metrics: CdcMetrics) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    const schema = {
      summary: 'Prometheus metrics',
      tags: ['health'],
      produces: ['text/plain'],
    };
    app.get('/metrics', { schema }, async (_request, reply) => {
      refreshLagGauges(status, metrics);
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    });
    done();
  };
  return register;
}

/**
 * A lag nobody knows right now (a worker not consuming, with no recent backlog sample) drops its series
 * rather than keeping the last value: an absent series reads as unknown, a stale 0 would read as caught up.
 */
function refreshLagGauges(status: StatusProvider, metrics: CdcMetrics): void {
  for (const connector of status.connectors()) {
    const labels = { connector: connector.name };
    setOrDrop(metrics.captureLagBytes, labels, connector.lagBytes);
    setOrDrop(
      metrics.captureLagSeconds,
      labels,
      connector.lagMillis === null ? null : connector.lagMillis / 1000,
    );
    if (connector.kind === 'postgres')
      for (const state of ['needed', 'running'] as const)
        metrics.resnapshot.set({ ...labels, state }, connector.resnapshot?.state === state ? 1 : 0);
  }
  for (const worker of status.workers()) {
    const labels = { replica: worker.name };
    setOrDrop(metrics.applyLagSeconds, labels, seconds(worker.endToEndLagMillis));
    setOrDrop(metrics.applyHopLagSeconds, labels, seconds(worker.hopLagMillis));
    setOrDrop(metrics.applyBacklogEvents, labels, worker.backlogEvents);
  }
}

function seconds(millis: number | null): number | null {
  return millis === null ? null : millis / 1000;
}

function setOrDrop<L extends string>(
  gauge: Gauge<L>,
  labels: Partial<Record<L, string>>,
  value: number | null,
): void {
  if (value === null) gauge.remove(labels);
  else gauge.set(labels, value);
}
