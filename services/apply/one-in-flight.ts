/**
 * One piece of work on the target in flight while the caller builds the next: the statement of a large insert,
 * or a window of statements. The connection queues what it is handed and sends it as soon as the one before is
 * answered, so the target does not wait for the building; answers are still taken in order, and the first
 * failure in order is the one thrown (whatever was sent after it fails too, or is rolled back with it).
 */
export class OneInFlight {
  #inFlight: Promise<unknown> | null = null;

  /** Takes `work` (already started) as the one in flight, then waits for the one before it. */
  async pass(work: Promise<unknown>): Promise<void> {
    const previous = this.#inFlight;
    this.#inFlight = work;
    // Awaited by the next pass() or settle(); until then (or when the one before fails first) handled here.
    work.catch(() => undefined);
    if (previous) await previous;
  }

  /** Waits for the work in flight; throws its failure. */
  async settle(): Promise<void> {
    const answered = this.#inFlight;
    this.#inFlight = null;
    if (answered) await answered;
  }

  /** After a failure: waits until nothing is running on the connection any more, without throwing. */
  async drain(): Promise<void> {
    await this.settle().catch(() => undefined);
  }
}
