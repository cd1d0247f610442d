/**
 * A source connector seen through a counter: every event it yields is counted as captured, and snapshot reads
 * (op `r`) also per table, for the `cdc_events_captured_total` and `cdc_snapshot_rows_total` metrics, and each
 * time its stream is lost and it starts reconnecting by itself (`cdc_capture_errors_total`; failures that end
 * the stream are counted by the capture task's supervisor). The connector itself stays free of metric
 * plumbing. Its status hides an error it has recovered from.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import { ConnectorWrapper } from './connector-wrapper.ts';

export interface CaptureCounts {
  readonly eventsCaptured: number;
  /** Times the stream was lost and the connector went reconnecting by itself. */
  readonly reconnects: number;
  /** Snapshot rows read, by `schema.table`. */
  readonly snapshotRows: ReadonlyMap<string, number>;
}

/**
 * How often the connector's state is looked at while it has no batch to hand over. A connector shows
 * `reconnecting` for at least its shortest backoff wait (100 ms), so no reconnect goes unseen.
 */
const RECONNECT_WATCH_MS = 20;

export class CountedConnector extends ConnectorWrapper {
  #eventsCaptured = 0;
  #reconnects = 0;
  #wasReconnecting = false;
  readonly #snapshotRows = new Map<string, number>();
  /** The connector's lastError when it last yielded a batch: an error it had already recovered from. */
  #errorBeforeLastBatch: string | null = null;

  constructor(inner: SourceConnector) {
    super(inner);
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    const batches = this.inner.stream(resume, signal)[Symbol.asyncIterator]();
    // One timer for the whole stream (not one per batch: small transactions come thousands a second) notices
    // the connector going reconnecting while no batch arrives.
    const watch = setInterval(() => this.#noticeReconnect(this.inner.status()), RECONNECT_WATCH_MS);
    try {
      for (;;) {
        const next = await batches.next();
        if (next.done === true) return;
        yield this.#counted(next.value);
      }
    } finally {
      clearInterval(watch);
      this.#noticeReconnect(this.inner.status());
      // As for-await does: a stream stopped early by its consumer is ended (a finished one ignores this).
      await batches.return?.();
    }
  }

  #noticeReconnect(status: ConnectorStatus): void {
    const reconnecting = status.state === 'reconnecting';
    if (reconnecting && !this.#wasReconnecting) this.#reconnects++;
    this.#wasReconnecting = reconnecting;
  }

  #counted(batch: CaptureBatch): CaptureBatch {
    this.#eventsCaptured += batch.events.length;
    for (const event of batch.events) {
      if (event.op !== 'r') continue;
      const table = `${event.table.schema}.${event.table.table}`;
      this.#snapshotRows.set(table, (this.#snapshotRows.get(table) ?? 0) + 1);
    }
    const status = this.inner.status();
    this.#noticeReconnect(status);
    this.#errorBeforeLastBatch = status.lastError;
    return batch;
  }

  /**
   * The connector's status, without a lastError it has recovered from: connectors keep their last error, but
   * one that was there before the stream delivered again (heartbeats included) is history (it is in the log).
   */
  override status(): ConnectorStatus {
    const status = this.inner.status();
    const healthy = status.state === 'streaming' || status.state === 'snapshotting';
    return healthy && status.lastError !== null && status.lastError === this.#errorBeforeLastBatch
      ? { ...status, lastError: null }
      : status;
  }

  counts(): CaptureCounts {
    return {
      eventsCaptured: this.#eventsCaptured,
      reconnects: this.#reconnects,
      snapshotRows: this.#snapshotRows,
    };
  }
}
