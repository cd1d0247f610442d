/**
 * A bounded hand-off between the replication socket and the consuming iterator. `put` waits while the queue
 * is full, which (with the library's flow control) pauses reading from the socket: backpressure, not memory.
 */
export class MessageQueue<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #failure: { error: unknown } | null = null;
  #closed = false;
  #wakeTaker: (() => void) | null = null;
  #wakePutters: (() => void)[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  async put(item: T): Promise<void> {
    while (this.#items.length >= this.#capacity && !this.#closed) {
      await new Promise<void>((resolve) => this.#wakePutters.push(resolve));
    }
    if (this.#closed) return;
    this.#items.push(item);
    this.#wake();
  }

  /** Ends the queue; after the buffered items, `take` throws `error` when given, or returns null. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#failure = { error };
    this.#wake();
    for (const wake of this.#wakePutters.splice(0)) wake();
  }

  /** Next item; null once closed and drained; waits at most `timeoutMs`, then returns undefined. */
  get size(): number {
    return this.#items.length;
  }

  async take(timeoutMs: number): Promise<T | null | undefined> {
    if (this.#items.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#wakeTaker = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeTaker = null;
    }
    if (this.#items.length > 0) {
      const item = this.#items.shift() as T;
      const putter = this.#wakePutters.shift();
      if (putter) putter();
      return item;
    }
    if (this.#closed) {
      if (this.#failure) throw this.#failure.error;
      return null;
    }
    return undefined;
  }

  #wake(): void {
    const wake = this.#wakeTaker;
    this.#wakeTaker = null;
    if (wake) wake();
  }
}
