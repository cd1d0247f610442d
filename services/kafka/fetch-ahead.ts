/**
 * Lets the consumer fetch the next batch while the handler applies the current one. kafkajs fetches only after
 * eachBatch returned, so the consumer hands each batch to the handler in the background and returns at once
 * (resolving the batch in kafkajs's memory, which moves its fetch position and commits nothing); the next
 * eachBatch waits here for the batch in hand, so batches are still handled one at a time, in offset order, and
 * offsets are committed only after the handler resolved, as before.
 *
 * A handler that hands a tail back (an incomplete source transaction) used to have kafkajs fetch it again;
 * the next fetch is already past it now, so the tail's decoded events are kept here and put in front of the
 * partition's next batch. They stay uncommitted meanwhile, and are dropped when the group is joined again
 * (the committed offset then delivers them again) or the run ends.
 */
import type { ConsumedEvent } from './record-decoding.ts';

interface Tail {
  readonly generation: number;
  readonly events: readonly ConsumedEvent[];
}

export class FetchAhead {
  private inHand: Promise<void> = Promise.resolve();
  private readonly tails = new Map<string, Tail>();
  /** Per partition, the last offset kafkajs passed over in a batch of only aborted records or markers. */
  private readonly passed = new Map<string, bigint>();
  /** A group membership error the batch in the background met: thrown from the next eachBatch, so kafkajs rejoins. */
  private membership: Error | null = null;

  /** True while a batch is handled in the background. */
  applying = false;

  /** Starts handling a batch in the background; `work` never rejects (it routes its own errors). */
  start(work: Promise<void>): void {
    this.applying = true;
    this.inHand = work.finally(() => {
      this.applying = false;
    });
  }

  /** Resolves once the batch in hand is handled and committed (or failed). */
  settled(): Promise<void> {
    return this.inHand;
  }

  /** Records the membership error met in the background; kept tails are no longer this member's to apply. */
  lostMembership(error: Error): void {
    this.membership ??= error;
    this.tails.clear();
  }

  /** A new group generation: what the last one met or kept back is the committed offsets' to deliver again. */
  joined(): void {
    this.membership = null;
    this.tails.clear();
    this.passed.clear();
  }

  /** The membership error met since the last call, if any. */
  takeMembershipError(): Error | null {
    const error = this.membership;
    this.membership = null;
    return error;
  }

  keepTail(key: string, generation: number, events: readonly ConsumedEvent[]): void {
    this.tails.set(key, { generation, events });
  }

  /** Drops the partition's kept tail, returning the offset to read it again from. */
  dropTail(key: string): string | null {
    const tail = this.tails.get(key);
    this.tails.delete(key);
    return tail?.events[0]?.offset ?? null;
  }

  /** kafkajs passed over records up to `lastOffset` (aborted ones, markers) without a batch. */
  passedOver(key: string, lastOffset: string): void {
    const last = BigInt(lastOffset);
    if (last > (this.passed.get(key) ?? -1n)) this.passed.set(key, last);
  }

  /** The last offset kafkajs passed over in the partition, if any. */
  passedUpTo(key: string): bigint | undefined {
    return this.passed.get(key);
  }

  /**
   * Whether the partition holds records past what was delivered (up to `lastOffset`) or passed over: only then
   * does a batch follow to carry a tail (those records may still be aborted ones; `passedOver` then hands the
   * tail back). At the end of the partition the tail is read again instead, alone, as before.
   */
  hasMore(key: string, lastOffset: string, highWatermark: string): boolean {
    const last = BigInt(lastOffset);
    const passed = this.passed.get(key) ?? -1n;
    return BigInt(highWatermark) > (passed > last ? passed : last) + 1n;
  }

  /**
   * The events kept back from the partition's previous batch that come before `firstOffset` (the new batch's
   * first record), if they were kept in the same group generation; a batch that starts at or before them
   * (fetched again from a committed offset) holds them itself.
   */
  takeTail(key: string, generation: number, firstOffset: string): ConsumedEvent[] {
    const tail = this.tails.get(key);
    this.tails.delete(key);
    if (tail === undefined || tail.generation !== generation) return [];
    const first = BigInt(firstOffset);
    return tail.events.filter((consumed) => BigInt(consumed.offset) < first);
  }
}
