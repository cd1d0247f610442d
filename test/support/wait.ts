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

/**
 * Polls `probe` until what it returns equals `expected` (as JSON, bigints as text); on timeout the error shows
 * both. A probe that throws counts as not yet equal.
 */
export async function waitForEqual<T>(
  description: string,
  probe: () => Promise<T> | T,
  expected: T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const text = (value: unknown) =>
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const wanted = text(expected);
  let last = 'nothing yet';
  await waitFor(
    `${description} (expected ${wanted})`,
    async () => {
      last = text(await probe());
      return last === wanted;
    },
    options,
  ).catch((error: unknown) => {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; last equal-probe value: ${last}`,
    );
  });
}
