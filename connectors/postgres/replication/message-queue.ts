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
  /** When the waiting taker gives up (take's timeout), and the one timer that wakes it then. */
  #deadline = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerDue = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /**
   * Adds `item`; a promise to await only when the queue is full (then it settles once the item is in). The
   * replication socket hands messages over one at a time, and nearly always finds room: that path allocates
   * nothing.
   */
  put(item: T): Promise<void> | undefined {
    if (this.#items.length >= this.#capacity && !this.#closed) return this.#putWhenRoom(item);
    if (this.#closed) return undefined;
    this.#items.push(item);
    this.#wake();
    return undefined;
  }

  async #putWhenRoom(item: T): Promise<void> {
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
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Items put and not yet taken. */
  get size(): number {
    return this.#items.length;
  }

  /** Next item; null once closed and drained; waits at most `timeoutMs`, then returns undefined. */
  async take(timeoutMs: number): Promise<T | null | undefined> {
    if (this.#items.length === 0 && !this.#closed) {
      this.#deadline = Date.now() + timeoutMs;
      await new Promise<void>((resolve) => {
        this.#wakeTaker = resolve;
        this.#armTimer();
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

  /**
   * One timer serves every take: a stream takes each message as it comes, and a timer set and cleared per
   * message cost a few percent of capture. One that falls due before the taker's deadline is armed again
   * for the rest when it fires.
   */
  #armTimer(): void {
    if (this.#timer !== null && this.#timerDue <= this.#deadline) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerDue = this.#deadline;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (this.#wakeTaker === null) return;
        if (Date.now() < this.#deadline) this.#armTimer();
        else this.#wake();
      },
      Math.max(0, this.#deadline - Date.now()),
    );
  }

  #wake(): void {
    const wake = this.#wakeTaker;
    this.#wakeTaker = null;
    if (wake) wake();
  }
}
