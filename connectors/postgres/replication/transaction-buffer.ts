/**
 * Holds the events of the source transaction being received. A transaction of up to `maxEvents` events is
 * released whole at COMMIT with `total` on every event. A bigger one is released in pieces (`commit: null`)
 * as it arrives; one event is always held back so the last piece can carry `total` on the final event.
 */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { Lsn } from '../../../schemas/positions/lsn.ts';
import { CdcError } from '../../../common/errors.ts';

export interface OpenTransaction {
  readonly commitLsn: Lsn;
  readonly xid: string;
  readonly commitTimeMicros: bigint;
  origin: string | null;
  /** The origin's commit position (ORIGIN message), when committed under a replication origin that gave one. */
  originLsn: Lsn | null;
  nextIndex: number;
}

export class TransactionBuffer {
  readonly #maxEvents: number;
  #open: OpenTransaction | null = null;
  #pending: ChangeEvent[] = [];
  #spilled = false;

  constructor(maxEvents: number) {
    this.#maxEvents = Math.max(1, maxEvents);
  }

  get open(): OpenTransaction | null {
    return this.#open;
  }

  begin(commitLsn: Lsn, xid: string, commitTimeMicros: bigint): void {
    this.#open = { commitLsn, xid, commitTimeMicros, origin: null, originLsn: null, nextIndex: 0 };
    this.#pending = [];
    this.#spilled = false;
  }

  /** The transaction that must be open for a row message; a row outside BEGIN/COMMIT is a protocol error. */
  current(): OpenTransaction {
    if (!this.#open) throw new CdcError('DECODE_FAILED', 'row change received outside a transaction', {});
    return this.#open;
  }

  /** Adds an event; returns events to release now (without a commit) once the transaction is too big to hold. */
  push(event: ChangeEvent): readonly ChangeEvent[] {
    this.current().nextIndex++;
    this.#pending.push(event);
    if (this.#pending.length > this.#maxEvents) this.#spilled = true;
    if (!this.#spilled || this.#pending.length <= this.#maxEvents) return NONE;
    return this.#pending.splice(0, this.#pending.length - 1);
  }

  /** Ends the transaction: the remaining events, with `total` set where the contract asks for it. */
  commit(): { transaction: OpenTransaction; events: ChangeEvent[] } {
    const transaction = this.current();
    const total = transaction.nextIndex;
    const events = this.#pending;
    if (!this.#spilled) for (const event of events) setTotal(event, total);
    else if (events.length > 0) setTotal(events[events.length - 1]!, total);
    this.reset();
    return { transaction, events };
  }

  /** Drops a half-received transaction (the connection dropped; the slot will send it again). */
  reset(): void {
    this.#open = null;
    this.#pending = [];
    this.#spilled = false;
  }
}

const NONE: readonly ChangeEvent[] = Object.freeze([]);

/**
 * Sets `total` on an event still held here. Each event's transaction object is its own, made with the event
 * (change-stream.ts) and not seen by anyone before the commit releases it, so it is completed in place rather
 * than copied with the event (a copy of every event of every transaction).
 */
function setTotal(event: ChangeEvent, total: number): void {
  if (event.transaction) (event.transaction as { total: number | null }).total = total;
}
