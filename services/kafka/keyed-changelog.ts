/**
 * Lays a run's changelog records out over the partitions of a keyed changelog (`sources[].changelog.mode`
 * "keyed"). Each record goes to the partition Kafka's default partitioner picks for its key (`javaPartition`, so a
 * Java or librdkafka producer of the same key bytes agrees): a row change by its table and primary key, a change
 * of a keyless table by the table's name (its record key).
 *
 * Each partition then holds a slice of a source transaction. A slice must look complete to the apply worker on
 * its own, the way a whole transaction does in one partition: its events are numbered again within the slice
 * (`transaction.index`) and, once the source transaction ends, carry the slice's event count (`total`), all in
 * the same Kafka transaction as the rest of the run. The position (commit, index in the source transaction) is
 * left alone, so the events of a partition still rise and a redelivery is still recognized by position.
 *
 * A transaction larger than `maxTransactionEvents` comes in pieces, possibly over several runs: the counts of its
 * open slices are carried from run to run, and a slice with no event in the last piece stays without a count,
 * which the apply worker treats as it treats such a piece in one partition (applied once nothing follows).
 *
 * An update that changes a row's key moves the row between partitions. The old key's partition receives a
 * delete of the old key (the same position, the update's `before`), so later changes of the old key in that
 * partition are applied after the row left; the new key's partition receives the update itself.
 */
import type { Message } from 'kafkajs';
import { encodeEvent } from '../../schemas/avro/codec.ts';
import { formatCommit } from '../../schemas/positions/position.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { javaPartition } from './java-partitioner.ts';

/** A record of the run as ordered capture would write it, with the event it holds. */
export interface OrderedRecord {
  readonly event: ChangeEvent;
  readonly message: Message;
}

/** One record of a slice before its count is known. */
interface Placed {
  readonly event: ChangeEvent;
  readonly message: Message;
  readonly partition: number;
  readonly slice: { readonly tx: string; readonly index: number } | null;
}

export class KeyedLayout {
  readonly partitions: number;
  /** Per source transaction still open at the end of a run: events so far in each partition. */
  private readonly open = new Map<string, number[]>();

  constructor(partitions: number) {
    this.partitions = partitions;
  }

  /**
   * The run's records spread over the partitions. `ended` names the source transactions (`transactionKey`) that
   * ended in this run: their slices get their counts. Records keep their relative order within each partition.
   */
  place(records: readonly OrderedRecord[], ended: ReadonlySet<string>): Message[] {
    const placed: Placed[] = [];
    const counts = new Map<string, number[]>();
    const put = (event: ChangeEvent, message: Message, partition: number): void => {
      const info = event.transaction;
      if (info === null) {
        placed.push({ event, message, partition, slice: null });
        return;
      }
      const tx = transactionKey(event);
      let perPartition = counts.get(tx);
      if (perPartition === undefined) {
        perPartition = this.open.get(tx) ?? new Array<number>(this.partitions).fill(0);
        counts.set(tx, perPartition);
      }
      const index = perPartition[partition]!;
      perPartition[partition] = index + 1;
      placed.push({ event, message, partition, slice: { tx, index } });
    };
    for (const { event, message } of records) {
      const partition = this.partitionOf(message.key);
      if (event.op === 't' && event.table.key.length > 0) {
        // Rows of a keyed table are in every partition: each gets the truncate (see README for its limit).
        for (let p = 0; p < this.partitions; p++) put(event, message, p);
        continue;
      }
      const moved = event.op === 'u' ? this.oldKeyPartition(event, message, partition) : null;
      if (moved !== null) put(moved.event, moved.message, moved.partition);
      put(event, message, partition);
    }
    for (const [tx, perPartition] of counts) {
      if (ended.has(tx)) this.open.delete(tx);
      else this.open.set(tx, perPartition);
    }
    return placed.map(({ event, message, partition, slice }) => {
      if (slice === null || event.transaction === null) return { ...message, partition };
      const total = ended.has(slice.tx) ? counts.get(slice.tx)![partition]! : null;
      const sliced: ChangeEvent = {
        ...event,
        transaction: { ...event.transaction, index: slice.index, total },
      };
      return { ...message, value: encodeEvent(sliced).value, partition };
    });
  }

  private partitionOf(key: Message['key']): number {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : (key ?? Buffer.alloc(0));
    return javaPartition(bytes, this.partitions);
  }

  /** The delete of the old key an update that moves its row to another partition leaves behind, or null. */
  private oldKeyPartition(
    event: ChangeEvent & { readonly op: 'u' },
    message: Message,
    partition: number,
  ): Omit<Placed, 'slice'> | null {
    if (event.before === null) return null;
    const deleted: ChangeEvent = { ...event, op: 'd', before: event.before, after: null };
    const encoded = encodeEvent(deleted);
    if (encoded.key === null) return null;
    const old = javaPartition(encoded.key, this.partitions);
    if (old === partition) return null;
    const headers = { ...message.headers, 'cdc.op': 'd' };
    return { event: deleted, message: { key: encoded.key, value: encoded.value, headers }, partition: old };
  }
}

/** What tells one source transaction from another in the stream: its commit and id. */
export function transactionKey(event: ChangeEvent): string {
  return `${formatCommit(event.source.position.commit)}|${event.transaction?.id ?? ''}`;
}
