/**
 * Waiting on conditions, never on fixed sleeps: polls `probe` until it returns a truthy value or the deadline
 * passes, then fails with the description and the last value seen.
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function waitFor<T>(
  description: string,
  probe: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const shown =
        last instanceof Error
          ? last.message
          : JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      throw new Error(`timed out waiting for ${description}; last value: ${shown}`);
    }
    await delay(options.intervalMs ?? 100);
  }
}
