/**
 * Keeps one long-running task alive: runs it, and after a failure that a retry can fix (isRetriable walks the
 * cause chain) starts it again with exponential backoff. A failure no retry can fix leaves the task `failed`
 * with its error on display (/status, /ready) instead of looping on it.
 */
import { errorMessage, isRetriable } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { Backoff, type BackoffPolicy } from '../../common/retry.ts';

export type TaskState = 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';

export class Supervisor {
  state: TaskState = 'starting';
  lastError: string | null = null;
  /** The error that left the task `failed`; null while it is not. */
  failure: unknown = null;
  restarts = 0;
  /** Failures of the task so far (each retried unless a retry cannot fix it), for the error counters. */
  errors = 0;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #backoff: Backoff;

  constructor(name: string, logger: Logger, policy: BackoffPolicy = { initialMs: 500, maxMs: 15_000 }) {
    this.#name = name;
    this.#logger = logger;
    this.#backoff = new Backoff(policy);
  }

  /** Resolves when `signal` aborts (after the task returned) or the task failed for good. */
  async run(task: (signal: AbortSignal) => Promise<void>, signal: AbortSignal): Promise<void> {
    this.failure = null;
    while (!signal.aborted) {
      this.state = 'running';
      const started = Date.now();
      try {
        await task(signal);
        if (signal.aborted) break;
        // A task returns on its own only when it was stopped from inside; treat it as a restartable end.
        this.#logger.warn({ task: this.#name }, 'task ended by itself; restarting');
      } catch (error) {
        if (signal.aborted) break;
        this.errors++;
        this.lastError = errorMessage(error);
        if (!isRetriable(error)) {
          this.state = 'failed';
          this.failure = error;
          this.#logger.error({ task: this.#name, err: error }, 'task failed; a retry cannot fix this');
          return;
        }
        this.#logger.warn({ task: this.#name, err: error }, 'task failed; retrying');
      }
      this.state = 'retrying';
      this.restarts++;
      // A task that ran for a while before failing starts again from the shortest wait.
      if (Date.now() - started > this.#backoff.policy.maxMs) this.#backoff.reset();
      const wait = this.#backoff.next();
      this.#logger.debug({ task: this.#name, retryInMs: wait }, 'task restarts after a wait');
      await Backoff.sleep(wait, signal);
    }
    this.state = 'stopped';
  }
}
