/**
 * The one retry policy of the service: exponential backoff with jitter, capped, reset after success.
 * Loops that must keep their own shape (a generator reconnecting a stream, a supervisor restarting a task)
 * hold a `Backoff` and ask it how long to wait; plain operations use `withRetries`. Whether an error is worth
 * retrying is always decided by `isRetriable`, which walks the cause chain.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CdcError, errorMessage, isRetriable } from './errors.ts';
import type { Logger } from './logger.ts';

export interface BackoffPolicy {
  /** The first wait, and the wait again after `reset()`. */
  readonly initialMs: number;
  /** No wait is longer than this. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000 };

/** Successive waits of one retry loop: initial, doubling up to the cap, each with jitter in [50%, 100%]. */
export class Backoff {
  readonly policy: BackoffPolicy;
  #attempt = 0;

  constructor(policy: BackoffPolicy = DEFAULT_BACKOFF) {
    this.policy = policy;
  }

  /** How many waits since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The next wait in milliseconds; each call lengthens the one after. */
  next(): number {
    const base = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    // Jitter keeps many workers that failed together from retrying together.
    return Math.round(base * (0.5 + Math.random() / 2));
  }

  /** After a success: the next failure waits the shortest time again. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Waits `ms` (from `next()`); resolves false at once when the signal aborts, never throws. */
  static async sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    try {
      await delay(ms, undefined, { signal });
      return true;
    } catch {
      return false; // only an abort rejects this delay
    }
  }
}

/**
 * Retries an operation while its failure is retriable, until it succeeds, fails for good, or the signal
 * aborts (then a STOPPED error carrying the last failure).
 */
export async function withRetries<T>(
  what: string,
  operation: () => Promise<T>,
  options: {
    signal: AbortSignal;
    logger: Logger;
    backoff: BackoffPolicy;
    onRetry?: (error: unknown) => void;
  },
): Promise<T> {
  const backoff = new Backoff(options.backoff);
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetriable(error) || options.signal.aborted) throw error;
      const wait = backoff.next();
      options.onRetry?.(error);
      options.logger.warn(
        { attempt: backoff.attempts, waitMs: wait, err: error },
        `${what} failed, retrying: ${errorMessage(error)}`,
      );
      if (!(await Backoff.sleep(wait, options.signal)))
        throw new CdcError(
          'STOPPED',
          `${what} stopped while waiting to retry after: ${errorMessage(error)}`,
          {},
          {
            cause: error,
          },
        );
    }
  }
}
