/**
 * Pause and resume for a long-running task. A paused task is stopped the way a shutdown stops it (its signal
 * aborts, so a connector closes its replication stream and an apply worker leaves its consumer group after
 * committing what it applied) and started again on resume. Stopping rather than holding the task keeps
 * nothing half done while paused: the published position, the slot or binlog position and the replica's
 * applied position are the ones a restart resumes from, and a restart loses nothing and repeats nothing.
 */
export class PauseGate {
  #paused = false;
  /** Aborts the run in progress when a pause is requested. */
  #current: AbortController | null = null;
  /** Settles when the run in progress has ended. */
  #ended: Promise<void> = Promise.resolve();
  #wakeResumed: () => void = () => undefined;

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Runs `task` until `signal` aborts, stopping it while paused. A task that ends or fails because of a pause
   * counts as paused, not failed; any other end or failure is the caller's (its supervisor's) to handle.
   */
  async run(task: (signal: AbortSignal) => Promise<void>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#paused) {
        await this.#resumedOr(signal);
        continue;
      }
      const current = new AbortController();
      const onAbort = (): void => current.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#current = current;
      let finish: () => void = () => undefined;
      this.#ended = new Promise((resolve) => {
        finish = resolve;
      });
      try {
        await task(current.signal);
        if (!this.#paused || signal.aborted) return;
      } catch (error) {
        if (!this.#paused || signal.aborted) throw error;
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.#current = null;
        finish();
      }
    }
  }

  /** Stops the task; resolves once it has stopped (at once when it was not running). */
  async pause(): Promise<void> {
    this.#paused = true;
    this.#current?.abort();
    await this.#ended;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wakeResumed();
  }

  #resumedOr(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.#wakeResumed = () => undefined;
        resolve();
      };
      this.#wakeResumed = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
