/**
 * Retries an operation while its failure is retriable (walking the cause chain), with exponential backoff
 * and jitter, until it succeeds, fails for good, or the signal aborts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CdcError, errorMessage, isRetriable } from './errors.ts';
import type { Logger } from './logger.ts';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 30_000 };

export async function withRetries<T>(
  what: string,
  operation: () => Promise<T>,
  options: { signal: AbortSignal; logger: Logger; backoff: Backoff; onRetry?: (error: unknown) => void },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetriable(error) || options.signal.aborted) throw error;
      const wait =
        Math.min(options.backoff.maxMs, options.backoff.initialMs * 2 ** Math.min(attempt, 20)) *
        (0.5 + Math.random() / 2);
      options.onRetry?.(error);
      options.logger.warn(
        { attempt: attempt + 1, waitMs: Math.round(wait), err: error },
        `${what} failed, retrying: ${errorMessage(error)}`,
      );
      try {
        await delay(wait, undefined, { signal: options.signal });
      } catch (aborted) {
        throw new CdcError(
          'STOPPED',
          `${what} stopped while waiting to retry after: ${errorMessage(error)}`,
          {},
          { cause: aborted },
        );
      }
    }
  }
}
