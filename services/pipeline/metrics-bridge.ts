/**
 * Brings the tasks' own counters into the Prometheus metrics when they are scraped, so capture and apply code
 * stay free of metric plumbing: counters advance by what changed since the last scrape, the clock-skew gauge
 * takes the sink's value. (Lag gauges are set from /status by the metrics route itself.)
 */
import type { CdcMetrics } from '../metrics/metrics.ts';
import type { ApplyTask } from './apply-task.ts';
import type { CaptureTask } from './capture-task.ts';

interface Advancing {
  inc(labels: Record<string, string>, value: number): void;
}

export class MetricsBridge {
  readonly #metrics: CdcMetrics;
  readonly #captures: readonly CaptureTask[];
  readonly #applies: readonly ApplyTask[];
  readonly #seen = new Map<string, number>();

  constructor(metrics: CdcMetrics, captures: readonly CaptureTask[], applies: readonly ApplyTask[]) {
    this.#metrics = metrics;
    this.#captures = captures;
    this.#applies = applies;
  }

  refresh(): void {
    const m = this.#metrics;
    for (const task of this.#captures) {
      const counts = task.counts();
      const labels = { connector: task.name };
      this.#advance(m.eventsCaptured, `captured:${task.name}`, labels, counts.eventsCaptured);
      this.#advance(m.eventsPublished, `published:${task.name}`, labels, counts.eventsPublished);
      this.#advance(m.eventsOversized, `oversized:${task.name}`, labels, counts.eventsOversized);
      this.#advance(m.captureErrors, `errors:${task.name}`, labels, counts.errors);
      const slot = task.slotHealth();
      if (slot !== null) {
        if (slot.retainedWalBytes !== null) m.slotRetainedWalBytes.set(labels, slot.retainedWalBytes);
        m.slotWarning.set(labels, slot.warnings.length > 0 ? 1 : 0);
        if (slot.synchronous !== null) m.syncWaitingCommits.set(labels, slot.synchronous.waitingCommits);
      }
      const binlog = task.binlogHealth();
      if (binlog !== null) m.binlogWarning.set(labels, binlog.warnings.length > 0 ? 1 : 0);
      for (const [table, rows] of counts.snapshotRows) {
        this.#advance(m.snapshotRows, `snapshot:${task.name}:${table}`, { ...labels, table }, rows);
      }
    }
    for (const task of this.#applies) {
      const worker = task.status();
      const labels = { replica: worker.name };
      this.#advance(m.applyEvents, `events:${worker.name}`, labels, worker.eventsApplied);
      this.#advance(m.applyTransactions, `tx:${worker.name}`, labels, worker.transactionsApplied);
      this.#advance(m.applyErrors, `errors:${worker.name}`, labels, worker.errors);
      this.#advance(m.deadLetters, `dlq:${worker.name}`, labels, worker.deadLetters);
      for (const missing of task.sink.missingRows?.() ?? []) {
        const key = `missing:${worker.name}:${missing.table}:${missing.op}`;
        const series = { ...labels, table: missing.table, op: missing.op };
        this.#advance(m.applyMissingRows, key, series, missing.count);
      }
      for (const seen of task.sink.conflictCounts?.() ?? []) {
        const series = {
          ...labels,
          table: seen.table,
          kind: seen.kind,
          policy: seen.policy,
          outcome: seen.outcome,
        };
        const key = `conflicts:${worker.name}:${seen.table}:${seen.kind}:${seen.policy}:${seen.outcome}`;
        this.#advance(m.conflicts, key, series, seen.count);
      }
      const skew = task.sink.clockSkewMillis?.() ?? null;
      if (skew !== null) m.applyClockSkewSeconds.set(labels, skew / 1000);
    }
  }

  #advance(counter: Advancing, key: string, labels: Record<string, string>, total: number): void {
    const delta = total - (this.#seen.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    this.#seen.set(key, total);
  }
}
