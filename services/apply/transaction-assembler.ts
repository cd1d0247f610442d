/**
 * Groups consumed events into source transactions: events of one transaction share their commit position and
 * carry `transaction.index`/`total`; an event without transaction metadata (a snapshot read, for example) is
 * a unit on its own. A transaction is complete when its last event (index === total - 1) arrived.
 *
 * An incomplete tail is marked `complete: false`. The apply worker hands it back to the feed (HandlerResult
 * `redeliverFrom`), which commits offsets only before it and delivers it again, whole, with the next batch;
 * only a transaction larger than one whole fetch is applied in pieces, each stored with its exact event
 * position (commit, index), so the next piece continues where the last stopped.
 */
import { formatCommit } from '../../schemas/positions/position.ts';
import type { ConsumedEvent } from './event-feed.ts';
import type { SourceTransaction } from './sink.ts';

/** A source transaction together with the consumed records it came from (for dead letters). */
export interface AssembledTransaction {
  readonly transaction: SourceTransaction;
  readonly consumed: readonly ConsumedEvent[];
}

interface Open {
  readonly key: string;
  readonly consumed: ConsumedEvent[];
}

function isLast(consumed: ConsumedEvent): boolean {
  const info = consumed.event.transaction;
  return info === null || (info.total !== null && info.index >= info.total - 1);
}

function unit(consumed: ConsumedEvent[], complete: boolean): AssembledTransaction {
  const first = consumed[0]!;
  return {
    transaction: {
      commit: first.event.source.position.commit,
      events: consumed.map((c) => c.event),
      complete,
    },
    consumed,
  };
}

/**
 * Splits one consumer batch into transactions, in order. The last one has `complete: false` when the batch
 * ends inside a transaction; a transaction that started in an earlier batch continues as a new unit here.
 */
export function assembleTransactions(batch: readonly ConsumedEvent[]): AssembledTransaction[] {
  const units: AssembledTransaction[] = [];
  let open: Open | null = null;
  for (const consumed of batch) {
    const event = consumed.event;
    if (event.transaction === null) {
      // A transaction left open means its last event never came: hand it out as is rather than merge it.
      if (open) units.push(unit(open.consumed, false));
      open = null;
      units.push(unit([consumed], true));
      continue;
    }
    const key = `${formatCommit(event.source.position.commit)}|${event.transaction.id}`;
    if (open && open.key !== key) {
      units.push(unit(open.consumed, false));
      open = null;
    }
    if (!open) open = { key, consumed: [] };
    open.consumed.push(consumed);
    if (isLast(consumed)) {
      units.push(unit(open.consumed, true));
      open = null;
    }
  }
  if (open) units.push(unit(open.consumed, false));
  return units;
}

/**
 * Cuts transactions into runs of at most `maxEvents` events for one target transaction each, never splitting
 * a transaction: a transaction larger than the limit gets a run of its own.
 */
export function chunkTransactions<T extends { readonly transaction: SourceTransaction }>(
  units: readonly T[],
  maxEvents: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const assembled of units) {
    const count = assembled.transaction.events.length;
    if (current.length > 0 && size + count > maxEvents) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(assembled);
    size += count;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
