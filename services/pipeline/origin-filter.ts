/**
 * Loop prevention at capture: a connector wrapper applying a node's capture rule to every transaction it reads.
 * A transaction whose origin marker (the PostgreSQL replication origin it was committed under, or the MariaDB
 * session server id) is one the rule drops came in over a pair or mesh link: it is not published, since the
 * node it came from has it already. Any other transaction a link wrote (a cascade tier re-publishing) goes on,
 * its origin rewritten from the marker to the node the change was first written on (a PostgreSQL sink marks a
 * change it re-publishes by its original node, see topology-compile.ts), so the next hop's events name that node.
 *
 * A link that marks with a marker row instead (services/apply/origin-marks.ts: no privilege for replication
 * origins) writes the row first in each target transaction: the transaction is taken as under the row's marker
 * from that event on, the marker event itself is never published, and the row's origin commit position and time
 * stand in for those a replication origin gives the transaction. Being the first event, it is read again whenever
 * capture reads the transaction again from its start; so a transaction published in pieces keeps its marker
 * across pieces (the filter remembers it by transaction id). A connector resumed in the middle of a transaction
 * would skip the marker with the rest of what was published; so where marker rows may come with changes the node
 * re-publishes (a cascade or fan-in link into a PostgreSQL node), the filter resumes it from the start of that
 * transaction (a position's index below 0) and drops what was published itself, after reading the marker.
 *
 * Why at capture and not at apply: the changelog then holds exactly what the node should pass on, so every other
 * subscriber of that topic sees the truth too, and the apply stays generic. An origin covers a whole source
 * transaction, so a transaction is dropped whole; its commit still passes as an empty batch (a heartbeat), which
 * lets the slot or binlog position be confirmed past it.
 */
import type { CaptureBatch, ResumePoint, SourceConnector } from '../../connectors/connector.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { comparePosition, type EventPosition } from '../../schemas/positions/position.ts';
import { isOriginMarkEvent, readOriginMark, type OriginMark } from '../apply/origin-marks.ts';
import type { CaptureRule } from '../config/topology-compile.ts';
import { ConnectorWrapper } from './connector-wrapper.ts';

export class OriginFilter extends ConnectorWrapper {
  readonly #drop: ReadonlySet<string>;
  readonly #nodes: ReadonlyMap<string, string>;
  /** Marker rows may mark changes this node re-publishes: a resume must read their transaction from its start. */
  readonly #restream: boolean;
  /** The marker row read at the start of the transaction being read, by transaction id. */
  #mark: { readonly transaction: string; readonly mark: OriginMark } | null = null;
  /** Events dropped so far, for status lines and tests. */
  dropped = 0;

  /** `markerRows`: links into the node may mark with marker rows (topology-compile.ts `readsMarkerRows`). */
  constructor(inner: SourceConnector, rule: CaptureRule, markerRows = false) {
    super(inner);
    this.#drop = new Set(rule.drop);
    this.#nodes = new Map(Object.entries(rule.origins));
    this.#restream = markerRows && Object.keys(rule.origins).some((marker) => !this.#drop.has(marker));
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    this.#mark = null;
    const floor = this.#restream && resume.position?.commit.kind === 'pg' ? resume.position : null;
    const from = floor === null ? resume : { ...resume, position: { ...floor, index: -1 } };
    for await (const batch of this.inner.stream(from, signal)) {
      const kept: ChangeEvent[] = [];
      let changed = false;
      let published = 0;
      for (const event of batch.events) {
        if (isOriginMarkEvent(event)) {
          changed = true;
          const mark = readOriginMark(event);
          if (mark !== null && event.transaction !== null)
            this.#mark = { transaction: event.transaction.id, mark };
          continue;
        }
        if (isAtOrBefore(event.source.position, floor)) {
          changed = true;
          published++;
          continue;
        }
        const marked = this.#markOf(event);
        const marker = event.source.origin ?? marked?.marker ?? null;
        if (marker === null) {
          kept.push(event);
          continue;
        }
        changed = true;
        if (this.#drop.has(marker)) continue;
        const node = this.#nodes.get(marker);
        // An unknown marker is kept as the origin, as a replication origin's name would be.
        kept.push(node === undefined ? renamed(event, marker, null) : renamed(event, node, marked));
      }
      if (batch.commit !== null) this.#mark = null;
      this.dropped += batch.events.length - kept.length - published;
      yield changed ? { ...batch, events: kept } : batch;
    }
  }

  /** The marker row this event's transaction began with, if any (an origin of its own comes first). */
  #markOf(event: ChangeEvent): OriginMark | null {
    if (event.source.origin !== null || this.#mark === null || event.transaction === null) return null;
    return event.transaction.id === this.#mark.transaction ? this.#mark.mark : null;
  }
}

/** Read again only because the filter resumed its transaction from the start: published already. */
function isAtOrBefore(position: EventPosition, floor: EventPosition | null): boolean {
  return floor !== null && position.commit.kind === 'pg' && comparePosition(position, floor) <= 0;
}

/**
 * A re-published event names the node it came from. Under a marker row it also takes the row's origin commit
 * position and time, as PostgreSQL gives a transaction committed under a replication origin.
 */
function renamed(event: ChangeEvent, node: string, mark: OriginMark | null): ChangeEvent {
  const source = { ...event.source, origin: node };
  if (mark?.commitTimeMicros != null) source.commitTimeMicros = mark.commitTimeMicros;
  if (mark?.originCommit != null) source.originCommit = mark.originCommit;
  return { ...event, source };
}
