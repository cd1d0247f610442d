/**
 * What a shutdown waits for, said as it happens: each part logs at info when the shutdown starts waiting for it
 * and how long it took once done, and the parts still waited for can be listed at any moment. A shutdown that
 * hangs then names the part it hangs on (the last "waiting for" without its "stopped"), and `cdc run` lists the
 * parts left when its shutdown timeout passes.
 */
import type { Logger } from './logger.ts';

export interface PendingPart {
  readonly part: string;
  readonly waitingMs: number;
}

export class ShutdownSteps {
  readonly #logger: Logger;
  /** Part → when the shutdown started waiting for it. */
  readonly #pending = new Map<string, number>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Waits for `work`, logging the wait and its length; a failure is logged and does not stop the shutdown. */
  async step(part: string, work: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    this.#pending.set(part, started);
    this.#logger.info({ part }, `shutdown: waiting for ${part}`);
    try {
      await work();
      this.#logger.info({ part, ms: Date.now() - started }, `shutdown: ${part} stopped`);
    } catch (error) {
      this.#logger.warn({ part, ms: Date.now() - started, err: error }, `shutdown: ${part} failed to stop`);
    } finally {
      this.#pending.delete(part);
    }
  }

  /** The parts not done yet, longest-waiting first. */
  pending(now: number = Date.now()): PendingPart[] {
    return [...this.#pending].map(([part, started]) => ({ part, waitingMs: now - started }));
  }
}
