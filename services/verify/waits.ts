/**
 * Waits a recheck can use between attempts: a plain delay (CLI, where nothing tells how far the replica is),
 * or a condition polled until it holds or a deadline passes (a pipeline that sees its apply worker).
 * Reaching the deadline is not an error: the recheck then reads what is there and reports what still differs.
 */
import { setTimeout as delay } from 'node:timers/promises';

export function delayWait(ms: number, signal?: AbortSignal): () => Promise<void> {
  return async () => {
    await delay(ms, undefined, signal ? { signal } : {});
  };
}

export interface ConditionWaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * A wait that captures `snapshot()` when it begins and resolves once `reached(snapshotThen)` holds (or the
 * timeout passes): for example "the apply worker's applied position moved past where it was".
 */
export function conditionWait<T>(
  snapshot: () => T,
  reached: (start: T) => boolean,
  options: ConditionWaitOptions,
): () => Promise<void> {
  return async () => {
    const start = snapshot();
    const deadline = Date.now() + options.timeoutMs;
    while (!reached(start) && Date.now() < deadline) {
      await delay(options.intervalMs ?? 200, undefined, options.signal ? { signal: options.signal } : {});
    }
  };
}
