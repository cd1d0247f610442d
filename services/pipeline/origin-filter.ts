/**
 * Loop prevention at capture: a connector wrapper applying a node's capture rule to every transaction it reads.
 * A transaction whose origin marker (the PostgreSQL replication origin it was committed under, or the MariaDB
 * session server id) is one the rule drops came in over a pair or mesh link: it is not published, since the
 * node it came from has it already. Any other transaction a link wrote (a cascade tier re-publishing) goes on,
 * its origin rewritten from the marker to the node the change was first written on (a PostgreSQL sink marks a
 * change it re-publishes by its original node, see topology-compile.ts), so the next hop's events name that node.
 *
 * Why at capture and not at apply: the changelog then holds exactly what the node should pass on, so every other
 * subscriber of that topic sees the truth too, and the apply stays generic. An origin covers a whole source
 * transaction, so a transaction is dropped whole; its commit still passes as an empty batch (a heartbeat), which
 * lets the slot or binlog position be confirmed past it.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';
import type { CaptureRule } from '../config/topology-compile.ts';

export class OriginFilter implements SourceConnector {
  readonly name: string;
  readonly #inner: SourceConnector;
  readonly #drop: ReadonlySet<string>;
  readonly #nodes: ReadonlyMap<string, string>;
  /** Events dropped so far, for status lines and tests. */
  dropped = 0;

  constructor(inner: SourceConnector, rule: CaptureRule) {
    this.name = inner.name;
    this.#inner = inner;
    this.#drop = new Set(rule.drop);
    this.#nodes = new Map(Object.entries(rule.origins));
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    for await (const batch of this.#inner.stream(resume, signal)) {
      const kept: ChangeEvent[] = [];
      let changed = false;
      for (const event of batch.events) {
        const marker = event.source.origin;
        if (marker === null) {
          kept.push(event);
          continue;
        }
        changed = true;
        if (this.#drop.has(marker)) continue;
        const node = this.#nodes.get(marker);
        kept.push(node === undefined ? event : { ...event, source: { ...event.source, origin: node } });
      }
      this.dropped += batch.events.length - kept.length;
      yield changed ? { ...batch, events: kept } : batch;
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
