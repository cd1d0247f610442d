/**
 * A bounded hand-off between the replication socket and the consuming iterator. `put` never waits: it says when
 * the queue is full, and the socket's owner stops reading until `onRoom` (half the capacity taken again). The
 * bound is backpressure on the socket, not a wait per message: messages of one socket read past the bound
 * still go in, in order.
 */
export class MessageQueue<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  readonly #onRoom: () => void;
  /** Told it was full, and not yet told there is room again. */
  #held = false;
  #failure: { error: unknown } | null = null;
  #closed = false;
  #wakeTaker: (() => void) | null = null;
  /** When the waiting taker gives up (take's timeout), and the one timer that wakes it then. */
  #deadline = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerDue = 0;

  constructor(capacity: number, onRoom: () => void = () => undefined) {
    this.#capacity = capacity;
    this.#onRoom = onRoom;
  }

  /**
   * Adds `item` (dropped once closed); true when the queue is full now, so the caller stops reading until
   * `onRoom`. The replication socket hands messages over one at a time, nearly always with room: that path
   * allocates nothing.
   */
  put(item: T): boolean {
    if (this.#closed) return false;
    this.#items.push(item);
    this.#wake();
    if (this.#items.length < this.#capacity) return false;
    this.#held = true;
    return true;
  }

  /** Ends the queue; after the buffered items, `take` throws `error` when given, or returns null. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#failure = { error };
    this.#wake();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Items put and not yet taken. */
  get size(): number {
    return this.#items.length;
  }

  /** The next item when one is queued, without waiting (and without a promise); otherwise undefined. */
  poll(): T | undefined {
    return this.#items.length > 0 ? this.#shift() : undefined;
  }

  #shift(): T {
    const item = this.#items.shift() as T;
    if (this.#held && this.#items.length <= this.#capacity / 2) {
      this.#held = false;
      this.#onRoom();
    }
    return item;
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
    if (this.#items.length > 0) return this.#shift();
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
