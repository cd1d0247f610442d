/**
 * How the capture's Kafka transactions ride out CONCURRENT_TRANSACTIONS. A transaction begun right after the
 * previous one committed is often refused with it for a few milliseconds, while the coordinator still writes the
 * previous one's markers. The publisher begins the next transaction as soon as the previous one committed (it
 * has no linger), so it meets this refusal several times a second under a steady writer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RetryOptions } from 'kafkajs';
import { Backoff } from '../../common/retry.ts';

/**
 * Retries of the capture client. kafkajs retries the refusal of a send (AddPartitionsToTxn) by itself, but its
 * default first wait (300 ms) then stalled capture for that long; the Java client retries this case after
 * 20 ms. Growing fourfold from 20 ms, its 5 retries wait about as long in total (7 s) as kafkajs's default (9 s)
 * before giving up on other errors. The count stays kafkajs's: setting one makes it warn that an idempotent
 * producer's retries are limited.
 */
export const TRANSACTION_RETRY: RetryOptions = { initialRetryTime: 20, multiplier: 4 };

/** About 5 s in all: longer than any marker write, shorter than a transaction timeout. */
const CONCURRENT_BACKOFF = { initialMs: 20, maxMs: 1_000 };
const CONCURRENT_ATTEMPTS = 10;

/**
 * Runs `operation` again while Kafka refuses it with CONCURRENT_TRANSACTIONS. kafkajs does not retry the
 * AddOffsetsToTxn of `sendOffsets`, which a transaction without events (a run of heartbeats, an empty source
 * transaction) sends first; refused, it changed nothing, so sending it again is safe.
 */
export async function retryConcurrentTransactions<T>(operation: () => Promise<T>): Promise<T> {
  const backoff = new Backoff(CONCURRENT_BACKOFF);
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isConcurrentTransactions(error) || backoff.attempts >= CONCURRENT_ATTEMPTS) throw error;
      await delay(backoff.next());
    }
  }
}

function isConcurrentTransactions(error: unknown): boolean {
  const shape = error as { type?: unknown; code?: unknown } | null;
  return (
    typeof shape === 'object' &&
    shape !== null &&
    (shape.type === 'CONCURRENT_TRANSACTIONS' || shape.code === 51)
  );
}
