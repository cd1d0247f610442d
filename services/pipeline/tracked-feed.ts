/**
 * The apply worker's feed seen from outside: when the changes it hands over were committed and published (the
 * first of the batch being applied, and the last one applied), from which the lag is computed (apply-lag.ts),
 * and when the worker makes progress (so an error before it is history, not the worker's current state).
 * Everything the feed delivers passes through unchanged.
 */
import type { BatchHandler, ConsumedEvent, EventFeed, HandlerResult } from '../apply/event-feed.ts';
import { applyLag, type ApplyLag, type ChangeTimes } from './apply-lag.ts';

/** What the changelog holds beyond the worker, from a backlog sample (services/kafka/backlog.ts). */
export interface BacklogView {
  readonly events: number | null;
  readonly caughtUpAt: number | null;
}

export class TrackedFeed implements EventFeed {
  readonly #inner: EventFeed;
  /** The first change of the batch being applied; null between batches. */
  #pending: ChangeTimes | null = null;
  /** The last change applied (kept across pauses and restarts of the worker). */
  #lastApplied: ChangeTimes | null = null;
  #running = false;
  readonly #onProgress: () => void;

  /** `onProgress` is called when consuming starts and after every batch the worker finished. */
  constructor(inner: EventFeed, onProgress: () => void = () => undefined) {
    this.#inner = inner;
    this.#onProgress = onProgress;
  }

  /** Whether the worker is consuming (its feed runs). */
  get consuming(): boolean {
    return this.#running;
  }

  async run(handler: BatchHandler, signal: AbortSignal): Promise<void> {
    this.#running = true;
    this.#onProgress();
    try {
      await this.#inner.run(async (batch, control): Promise<HandlerResult> => {
        const first = batch[0];
        if (first !== undefined) this.#pending = timesOf(first);
        const result = await handler(batch, control);
        // What the handler handed back is not applied: the last applied change is the one before it.
        const applied = batch[result === undefined ? batch.length - 1 : result.redeliverFrom - 1];
        if (applied !== undefined) this.#lastApplied = timesOf(applied);
        this.#pending = null;
        this.#onProgress();
        return result;
      }, signal);
    } finally {
      this.#running = false;
      this.#pending = null;
    }
  }

  /**
   * End-to-end and hop lag of the oldest change not applied yet, given the changelog's backlog beyond the
   * worker: 0 when the worker is caught up, an estimate between batches while records wait (apply-lag.ts).
   */
  lag(backlog: BacklogView, now: number = Date.now()): ApplyLag {
    return applyLag({
      now,
      consuming: this.#running,
      pending: this.#pending,
      lastApplied: this.#lastApplied,
      backlog: backlog.events,
      caughtUpAt: backlog.caughtUpAt,
    });
  }
}

function timesOf(consumed: ConsumedEvent): ChangeTimes {
  return {
    commitMillis: Number(consumed.event.source.commitTimeMicros / 1000n),
    publishedMillis: consumed.publishedMillis ?? null,
  };
}
