/**
 * Debezium's transaction metadata (`provide.transaction.metadata`): a BEGIN and an END record per source
 * transaction on `<prefix>.transaction`, and the order of each event within its transaction and within its
 * table in the transaction (the envelope's `transaction` block). The counters span Kafka transactions, since
 * a large source transaction is published in pieces.
 */
import type { ChangeEvent } from '../events/change-event.ts';
import { field, plain, struct, type ConnectSchema, type JsonValue } from './connect-schema.ts';
import { dataCollection, dataRecordCount, type DebeziumRecord, type TransactionOrder } from './envelope.ts';

const KEY_SCHEMA = struct(
  'io.debezium.connector.common.TransactionMetadataKey',
  [field('id', plain('string', false))],
  false,
);

const COLLECTION = struct(
  'io.debezium.connector.common.TransactionMetadataDataCollection',
  [field('data_collection', plain('string', false)), field('event_count', plain('int64', false))],
  false,
);

const VALUE_SCHEMA: ConnectSchema = struct(
  'io.debezium.connector.common.TransactionMetadataValue',
  [
    field('status', plain('string', false)),
    field('id', plain('string', false)),
    field('event_count', plain('int64', true)),
    field('data_collections', { type: 'array', optional: true, items: COLLECTION }),
    field('ts_ms', plain('int64', false)),
  ],
  false,
);

export function transactionTopic(prefix: string): string {
  return `${prefix}.transaction`;
}

/** Debezium's transaction id: `<xid>:<commit LSN>` for PostgreSQL, the GTID for MySQL/MariaDB. */
export function debeziumTransactionId(event: ChangeEvent): string | null {
  if (event.transaction === null) return null;
  const commit = event.source.position.commit;
  return commit.kind === 'pg' ? `${event.transaction.id}:${commit.lsn as bigint}` : event.transaction.id;
}

interface Open {
  readonly id: string;
  readonly perTable: Map<string, number>;
  /**
   * Data records written minus events: truncates are not written (Debezium skips them), a primary-key change
   * is written as two (delete and create), so END's event_count is the transaction's size plus this.
   */
  extra: number;
}

export interface OrderedEvent {
  readonly order: TransactionOrder | null;
  /** BEGIN before the event, when it opens its transaction. */
  readonly begin: DebeziumRecord | null;
  /** END after the event, when it closes its transaction. */
  readonly end: DebeziumRecord | null;
}

export class TransactionTracker {
  private open: Open | null = null;
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Call for each published event in order (truncates included: they count in the source transaction). */
  next(event: ChangeEvent): OrderedEvent {
    const id = debeziumTransactionId(event);
    if (id === null || event.transaction === null) return { order: null, begin: null, end: null };
    let begin: DebeziumRecord | null = null;
    // A transaction resumed in its middle after a restart starts counting where it resumed.
    if (this.open === null || this.open.id !== id || event.transaction.index === 0) {
      this.open = { id, perTable: new Map(), extra: 0 };
      if (event.transaction.index === 0) begin = this.record(event, 'BEGIN', id, null, []);
    }
    const open = this.open;
    const collection = dataCollection(event.table);
    const written = dataRecordCount(event);
    open.extra += written - 1;
    let inTable = open.perTable.get(collection) ?? 0;
    if (written > 0) open.perTable.set(collection, (inTable += written));
    const order = { id, totalOrder: event.transaction.index + 1, dataCollectionOrder: inTable };
    const total = event.transaction.total;
    let end: DebeziumRecord | null = null;
    if (total !== null && event.transaction.index === total - 1) {
      const collections = [...open.perTable].map(([name, count]) => ({
        data_collection: name,
        event_count: BigInt(count),
      }));
      end = this.record(event, 'END', id, BigInt(total + open.extra), collections);
      this.open = null;
    }
    return { order, begin, end };
  }

  private record(
    event: ChangeEvent,
    status: 'BEGIN' | 'END',
    id: string,
    eventCount: bigint | null,
    collections: readonly JsonValue[],
  ): DebeziumRecord {
    const key = { id };
    const value = {
      status,
      id,
      event_count: eventCount,
      data_collections: status === 'BEGIN' ? null : collections,
      ts_ms: event.source.commitTimeMicros / 1000n,
    };
    return {
      topic: transactionTopic(this.prefix),
      key: { schema: KEY_SCHEMA, payload: key },
      value: { schema: VALUE_SCHEMA, payload: value },
    };
  }
}
