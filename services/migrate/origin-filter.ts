/**
 * Loop prevention on the reverse path, at capture: a connector wrapper that drops the changes of transactions
 * committed under one of `excluded` replication origins (the forward apply marks its PostgreSQL commits with
 * `cdc_<forward source>`). Those changes came from the old database; sending them back would apply them there
 * twice.
 *
 * Why at capture and not at apply: the reverse changelog then holds exactly the writes made on the new primary,
 * so any other subscriber of that topic sees the truth too, and the apply stays generic. A PostgreSQL origin
 * covers a whole transaction, so a transaction is dropped whole; its commit still passes as a heartbeat batch,
 * which lets the slot be confirmed past it.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';

export class OriginFilter implements SourceConnector {
  readonly name: string;
  readonly #inner: SourceConnector;
  readonly #excluded: ReadonlySet<string>;
  /** Events dropped so far, for status lines and tests. */
  dropped = 0;

  constructor(inner: SourceConnector, excluded: readonly string[]) {
    this.name = inner.name;
    this.#inner = inner;
    this.#excluded = new Set(excluded);
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    for await (const batch of this.#inner.stream(resume, signal)) {
      const kept = batch.events.filter((event) => {
        const origin = event.source.origin;
        return origin === null || !this.#excluded.has(origin);
      });
      this.dropped += batch.events.length - kept.length;
      yield kept.length === batch.events.length ? batch : { ...batch, events: kept };
    }
  }

  acknowledge(commit: CommitPosition): Promise<void> {
    return this.#inner.acknowledge(commit);
  }

  status(): ConnectorStatus {
    return this.#inner.status();
  }

  requestSnapshot(tables: readonly string[]): Promise<void> {
    return this.#inner.requestSnapshot(tables);
  }
}
