/**
 * The apply worker's feed seen from outside: how old the oldest change handed to the worker and not yet
 * applied is (the apply lag), and when the worker makes progress (so an error before it is history, not the
 * worker's current state). Everything the feed delivers passes through unchanged.
 */
import type { BatchHandler, EventFeed, HandlerResult } from '../apply/event-feed.ts';

export class TrackedFeed implements EventFeed {
  readonly #inner: EventFeed;
  /** Source commit time (ms) of the first change of the batch being applied; null between batches. */
  #oldestPendingMillis: number | null = null;
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
        if (first !== undefined)
          this.#oldestPendingMillis = Number(first.event.source.commitTimeMicros / 1000n);
        const result = await handler(batch, control);
        this.#oldestPendingMillis = null;
        this.#onProgress();
        return result;
      }, signal);
    } finally {
      this.#running = false;
      this.#oldestPendingMillis = null;
    }
  }

  /**
   * Age of the oldest change handed over and not yet applied, in ms: 0 when the worker waits for new changes
   * (caught up), null while it is not consuming at all. Kafka delivers the next batch as soon as the last one
   * is done, so a worker that is behind is almost always inside a batch.
   */
  lagMillis(): number | null {
    if (this.#oldestPendingMillis !== null) return Math.max(0, Date.now() - this.#oldestPendingMillis);
    return this.#running ? 0 : null;
  }
}
