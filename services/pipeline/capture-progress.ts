/**
 * How far a capture has read its source, seen from the batches it hands to the publisher, in their order.
 * Read-your-writes (replica-wait.ts) needs two facts taken at one instant of that order:
 *
 * - `read`: the commit position of the last batch that ended at a safe point (a transaction's commit, a
 *   snapshot watermark, a heartbeat). The source's log is decoded in commit order, so every transaction that
 *   committed before it has been handed over already;
 * - `lastEvent`: the position of the last event handed over (or, before the first one in this process, the
 *   position published before the restart): everything read so far is at or before it.
 *
 * So at the moment `read` first covers a position token, every change committed before the token is at or
 * before `lastEvent`, and a replica that applied `lastEvent` holds all of them. This wrapper sits outermost
 * but for the counter, after the origin and column filters: an event they drop is never published, so it is
 * never waited for.
 */
import type { CaptureBatch, ResumePoint } from '../../connectors/connector.ts';
import {
  comparePosition,
  type CommitPosition,
  type EventPosition,
} from '../../schemas/positions/position.ts';
import { ConnectorWrapper } from './connector-wrapper.ts';

interface Waiter {
  readonly covers: (read: CommitPosition) => boolean;
  readonly resolve: (lastEvent: EventPosition | null) => void;
}

export class CaptureProgress extends ConnectorWrapper {
  #read: CommitPosition | null = null;
  #lastEvent: EventPosition | null = null;
  readonly #waiters = new Set<Waiter>();

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    // Published before this run started (a restart): a replica must hold it before it holds anything newer.
    if (resume.position !== null) this.#noteEvent(resume.position);
    for await (const batch of this.inner.stream(resume, signal)) {
      for (const event of batch.events) this.#noteEvent(event.source.position);
      if (batch.commit !== null) this.#noteRead(batch.commit);
      yield batch;
    }
  }

  /** The last safe commit point handed over; null before the first. */
  get read(): CommitPosition | null {
    return this.#read;
  }

  get lastEvent(): EventPosition | null {
    return this.#lastEvent;
  }

  /**
   * Resolves with `lastEvent` as of the first moment `read` satisfies `covers` (at once if it already does),
   * or with undefined when `signal` aborts first.
   */
  reached(
    covers: (read: CommitPosition) => boolean,
    signal: AbortSignal,
  ): Promise<EventPosition | null | undefined> {
    if (this.#read !== null && covers(this.#read)) return Promise.resolve(this.#lastEvent);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        covers,
        resolve: (lastEvent) => {
          signal.removeEventListener('abort', abort);
          this.#waiters.delete(waiter);
          resolve(lastEvent);
        },
      };
      const abort = (): void => {
        this.#waiters.delete(waiter);
        resolve(undefined);
      };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #noteEvent(position: EventPosition): void {
    if (this.#lastEvent === null || comparePosition(position, this.#lastEvent) > 0)
      this.#lastEvent = position;
  }

  #noteRead(commit: CommitPosition): void {
    this.#read = commit;
    for (const waiter of [...this.#waiters]) if (waiter.covers(commit)) waiter.resolve(this.#lastEvent);
  }
}
