/**
 * The service's Prometheus metrics, as named objects the capture and apply code increments. Each pipeline
 * (and each test) creates its own registry, so nothing is registered twice in the process-wide default one.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface CdcMetrics {
  readonly registry: Registry;
  /** Change events read from a source, by connector. */
  readonly eventsCaptured: Counter<'connector'>;
  /** Change events Kafka acknowledged, by connector. */
  readonly eventsPublished: Counter<'connector'>;
  /** Events larger than kafka.maxEventBytes sent to the side topic instead of the changelog, by connector. */
  readonly eventsOversized: Counter<'connector'>;
  /** Failures of a capture (its source stream or its publishing) after which it was started again, or stopped. */
  readonly captureErrors: Counter<'connector'>;
  /** Rows read by snapshots, by connector and table (`schema.table`). */
  readonly snapshotRows: Counter<'connector' | 'table'>;
  /** Bytes of source log between the newest position and what the source was told it may release. */
  readonly captureLagBytes: Gauge<'connector'>;
  /** Seconds between a change's commit at the source and its publication. */
  readonly captureLagSeconds: Gauge<'connector'>;
  /** Bytes of WAL a PostgreSQL source's slot retains (sampled in the background). */
  readonly slotRetainedWalBytes: Gauge<'connector'>;
  /** 1 while a PostgreSQL slot is warned of (retains too much WAL, or wal_status not reserved), else 0. */
  readonly slotWarning: Gauge<'connector'>;
  /** PostgreSQL: 1 while the slot was lost and a re-snapshot is needed (`state="needed"`) or runs (`"running"`). */
  readonly resnapshot: Gauge<'connector' | 'state'>;
  /** 1 while the binlog file a MariaDB/MySQL capture needs is the oldest on the server, or gone; else 0. */
  readonly binlogWarning: Gauge<'connector'>;
  /** Synchronous capture: source commits waiting for a synchronous standby (the capture) to confirm them. */
  readonly syncWaitingCommits: Gauge<'connector'>;
  /** Change events applied to a replica. */
  readonly applyEvents: Counter<'replica'>;
  /** Source transactions applied to a replica. */
  readonly applyTransactions: Counter<'replica'>;
  /** Events that failed to apply (whether retried, dead-lettered or fatal). */
  readonly applyErrors: Counter<'replica'>;
  /** Events sent to the dead-letter topic. */
  readonly deadLetters: Counter<'replica'>;
  /** Updates and deletes that found no row on the replica (services/apply/missing-rows.ts), by table and op. */
  readonly applyMissingRows: Counter<'replica' | 'table' | 'op'>;
  /** Conflicts the replica's sink detected, by how they were resolved. */
  readonly conflicts: Counter<'replica' | 'table' | 'kind' | 'policy' | 'outcome'>;
  /** Age in seconds of the oldest change the replica has not applied yet, since its original commit; 0 when caught up. */
  readonly applyLagSeconds: Gauge<'replica'>;
  /** Age in seconds of that change since it was published into the changelog the replica reads (this hop). */
  readonly applyHopLagSeconds: Gauge<'replica'>;
  /** Records of the changelog the replica's consumer group has not consumed yet. */
  readonly applyBacklogEvents: Gauge<'replica'>;
  /** How far ahead of the replica's clock the commit times of changes it applied lately were (conflict handling on). */
  readonly applyClockSkewSeconds: Gauge<'replica'>;
  /** Prometheus text exposition of everything above. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Also collect Node.js process metrics (CPU, memory, event loop lag). */
  readonly processMetrics?: boolean;
  /** Labels added to every series, e.g. `{ pipeline: 'demo' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

export function createMetrics(options: MetricsOptions = {}): CdcMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  // prom-client's names already start with `process_` or `nodejs_`: the prefix only says whose they are.
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'cdc_' });
  const registers = [registry];

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });

  return {
    registry,
    eventsCaptured: counter('cdc_events_captured_total', 'Change events read from the source.', [
      'connector',
    ]),
    eventsPublished: counter('cdc_events_published_total', 'Change events acknowledged by Kafka.', [
      'connector',
    ]),
    eventsOversized: counter(
      'cdc_events_oversized_total',
      'Change events larger than kafka.maxEventBytes sent to the side topic instead of the changelog (replicas miss them).',
      ['connector'],
    ),
    captureErrors: counter(
      'cdc_capture_errors_total',
      'Failures of a capture (source stream or publishing to Kafka); each one is retried unless it cannot be.',
      ['connector'],
    ),
    snapshotRows: counter('cdc_snapshot_rows_total', 'Rows read by snapshots.', ['connector', 'table']),
    captureLagBytes: gauge('cdc_capture_lag_bytes', 'Source log bytes not yet released by the connector.', [
      'connector',
    ]),
    // Seconds, as Prometheus names base units; status answers keep milliseconds.
    captureLagSeconds: gauge('cdc_capture_lag_seconds', 'Time from source commit to publication.', [
      'connector',
    ]),
    slotRetainedWalBytes: gauge(
      'cdc_capture_slot_retained_wal_bytes',
      'WAL bytes the replication slot keeps on the source.',
      ['connector'],
    ),
    slotWarning: gauge(
      'cdc_capture_slot_warning',
      '1 while the slot retains more than warnRetainedWalBytes or its wal_status is not reserved.',
      ['connector'],
    ),
    resnapshot: gauge(
      'cdc_capture_resnapshot',
      '1 while a PostgreSQL slot was lost and a re-snapshot is needed (state="needed": capture stopped) or runs (state="running"), else 0.',
      ['connector', 'state'],
    ),
    syncWaitingCommits: gauge(
      'cdc_capture_sync_waiting_commits',
      'Synchronous capture: source sessions whose commit waits for a synchronous standby to confirm it (wait_event SyncRep).',
      ['connector'],
    ),
    binlogWarning: gauge(
      'cdc_capture_binlog_warning',
      '1 while the binlog file the capture needs is the oldest on the server, or purged.',
      ['connector'],
    ),
    applyEvents: counter('cdc_apply_events_total', 'Change events applied to the replica.', ['replica']),
    applyTransactions: counter(
      'cdc_apply_transactions_total',
      'Source transactions applied to the replica.',
      ['replica'],
    ),
    applyErrors: counter('cdc_apply_errors_total', 'Events that failed to apply.', ['replica']),
    applyMissingRows: counter(
      'cdc_apply_missing_rows_total',
      'Updates and deletes that found no row on the replica (an update with every column inserts it, else it is dead-lettered; a delete changes nothing).',
      ['replica', 'table', 'op'],
    ),
    conflicts: counter(
      'cdc_conflicts_total',
      'Conflicts detected at apply (pair and mesh links), by table, kind, policy and outcome; each is also recorded in cdc_apply.conflicts.',
      ['replica', 'table', 'kind', 'policy', 'outcome'],
    ),
    deadLetters: counter('cdc_apply_dead_letters_total', 'Events sent to the dead-letter topic.', [
      'replica',
    ]),
    applyLagSeconds: gauge(
      'cdc_apply_lag_seconds',
      'Age of the oldest change not yet applied to the replica since its original commit, end to end through the tiers before it (0 when caught up).',
      ['replica'],
    ),
    applyHopLagSeconds: gauge(
      'cdc_apply_hop_lag_seconds',
      'Age of the oldest change not yet applied to the replica since its publication into the changelog the replica reads (0 when caught up).',
      ['replica'],
    ),
    applyBacklogEvents: gauge(
      'cdc_apply_backlog_events',
      "Records of the changelog the replica's consumer group has not consumed yet.",
      ['replica'],
    ),
    applyClockSkewSeconds: gauge(
      'cdc_apply_clock_skew_seconds',
      "The most a change's commit time was ahead of the replica's clock in the last minute or two (0 when none was): its origin's clock runs ahead by at least that much, which biases last-writer-wins. Links with conflict handling only.",
      ['replica'],
    ),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
