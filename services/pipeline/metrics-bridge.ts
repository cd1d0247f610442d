/**
 * Brings the tasks' own counters into the Prometheus metrics when they are scraped, so capture and apply code
 * stay free of metric plumbing: counters advance by what changed since the last scrape, gauges are set.
 */
import type { StatusProvider } from '../api/status-types.ts';
import type { CdcMetrics } from '../metrics/metrics.ts';

export class MetricsBridge {
  readonly #metrics: CdcMetrics;
  readonly #status: StatusProvider;
  readonly #seen = new Map<string, number>();

  constructor(metrics: CdcMetrics, status: StatusProvider) {
    this.#metrics = metrics;
    this.#status = status;
  }

  refresh(): void {
    const m = this.#metrics;
    for (const connector of this.#status.connectors()) {
      const labels = { connector: connector.name };
      if (connector.lagBytes !== null) m.captureLagBytes.set(labels, connector.lagBytes);
      if (connector.lagMillis !== null) m.captureLagMillis.set(labels, connector.lagMillis);
    }
    for (const worker of this.#status.workers()) {
      const labels = { replica: worker.name };
      this.#advance(m.applyEvents, `events:${worker.name}`, labels, worker.eventsApplied);
      this.#advance(m.applyTransactions, `tx:${worker.name}`, labels, worker.transactionsApplied);
      this.#advance(m.applyErrors, `errors:${worker.name}`, labels, worker.errors);
      this.#advance(m.deadLetters, `dlq:${worker.name}`, labels, worker.deadLetters);
      if (worker.lagMillis !== null) m.applyLagMillis.set(labels, worker.lagMillis);
    }
  }

  #advance(
    counter: { inc(labels: Record<string, string>, value: number): void },
    key: string,
    labels: Record<string, string>,
    total: number,
  ): void {
    const delta = total - (this.#seen.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    this.#seen.set(key, total);
  }
}
