/**
 * A source connector seen through a counter: every event it yields is counted as captured, and snapshot reads
 * (op `r`) also per table, for the `cdc_events_captured_total` and `cdc_snapshot_rows_total` metrics. The
 * connector itself stays free of metric plumbing. Its status hides an error it has recovered from.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';

export interface CaptureCounts {
  readonly eventsCaptured: number;
  /** Snapshot rows read, by `schema.table`. */
  readonly snapshotRows: ReadonlyMap<string, number>;
}

export class CountedConnector implements SourceConnector {
  readonly name: string;
  readonly #inner: SourceConnector;
  #eventsCaptured = 0;
  readonly #snapshotRows = new Map<string, number>();
  /** The connector's lastError when it last yielded a batch: an error it had already recovered from. */
  #errorBeforeLastBatch: string | null = null;

  constructor(inner: SourceConnector) {
    this.name = inner.name;
    this.#inner = inner;
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    for await (const batch of this.#inner.stream(resume, signal)) {
      this.#eventsCaptured += batch.events.length;
      for (const event of batch.events) {
        if (event.op !== 'r') continue;
        const table = `${event.table.schema}.${event.table.table}`;
        this.#snapshotRows.set(table, (this.#snapshotRows.get(table) ?? 0) + 1);
      }
      this.#errorBeforeLastBatch = this.#inner.status().lastError;
      yield batch;
    }
  }

  acknowledge(commit: CommitPosition): Promise<void> {
    return this.#inner.acknowledge(commit);
  }

  /**
   * The connector's status, without a lastError it has recovered from: connectors keep their last error, but
   * one that was there before the stream delivered again (heartbeats included) is history (it is in the log).
   */
  status(): ConnectorStatus {
    const status = this.#inner.status();
    const healthy = status.state === 'streaming' || status.state === 'snapshotting';
    return healthy && status.lastError !== null && status.lastError === this.#errorBeforeLastBatch
      ? { ...status, lastError: null }
      : status;
  }

  requestSnapshot(tables: readonly string[]): Promise<void> {
    return this.#inner.requestSnapshot(tables);
  }

  counts(): CaptureCounts {
    return { eventsCaptured: this.#eventsCaptured, snapshotRows: this.#snapshotRows };
  }
}
