/**
 * The normalized change event: the envelope users of change data capture already know (op, before, after,
 * source, transaction), as TypeScript values. Connectors produce it, the Kafka layer encodes it with Avro,
 * apply workers consume it. Nothing here knows about a particular database or Kafka.
 */
import type { CommitPosition, EventPosition } from '../positions/position.ts';
import type { TableSchema } from './table-schema.ts';

/**
 * A column value. Exactness rules: 64-bit integers are bigint; decimals, temporal values, uuids, json,
 * intervals, bit strings (`0101`) and unknown types are their canonical text; bytes are Uint8Array; arrays hold element values.
 */
export type Value = null | boolean | number | bigint | string | Uint8Array | readonly Value[];

export type Row = Readonly<Record<string, Value>>;

export type Op = 'c' | 'u' | 'd' | 'r' | 't';

export interface SourceInfo {
  readonly connector: string;
  readonly position: EventPosition;
  /** Source transaction id (PostgreSQL xid, MySQL GTID) or null for snapshot reads. */
  readonly txId: string | null;
  /** Commit time at the source, microseconds since the Unix epoch. */
  readonly commitTimeMicros: bigint;
  /** Replication origin of the change: null for local writes; set when the source applied it from elsewhere. */
  readonly origin: string | null;
  /**
   * Where the change was first committed, when the source applied it from elsewhere and says so: the commit
   * position the applying session gave its origin (PostgreSQL's ORIGIN message). Absent otherwise.
   */
  readonly originCommit?: CommitPosition;
  readonly snapshot: boolean;
}

export interface TransactionInfo {
  readonly id: string;
  /** Index of this event within the transaction, from 0. */
  readonly index: number;
  /**
   * Number of events in the transaction. Known on every event of a transaction the connector could hold
   * whole; for larger ones only on the last event (so an apply worker still sees where the transaction ends).
   */
  readonly total: number | null;
}

interface EventBase {
  readonly table: TableSchema;
  readonly source: SourceInfo;
  readonly transaction: TransactionInfo | null;
}

export interface InsertEvent extends EventBase {
  readonly op: 'c';
  readonly before: null;
  readonly after: Row;
}

export interface ReadEvent extends EventBase {
  readonly op: 'r';
  readonly before: null;
  readonly after: Row;
}

export interface UpdateEvent extends EventBase {
  readonly op: 'u';
  /** Old row: whole (full image) or its key columns only, or null when the key did not change and no old image was sent. */
  readonly before: Row | null;
  readonly after: Row;
  /** Columns whose new value the source did not send because it did not change (PostgreSQL unchanged TOAST). */
  readonly unchanged: readonly string[];
}

export interface DeleteEvent extends EventBase {
  readonly op: 'd';
  /** Old row: whole or key columns only. */
  readonly before: Row;
  readonly after: null;
}

export interface TruncateEvent extends EventBase {
  readonly op: 't';
  readonly before: null;
  readonly after: null;
}

export type ChangeEvent = InsertEvent | ReadEvent | UpdateEvent | DeleteEvent | TruncateEvent;

/** Key values of a row for the table's key columns; used for Kafka message keys and apply lookups. */
export function rowKey(table: TableSchema, row: Row): Row {
  const key: Record<string, Value> = {};
  for (const column of table.key) key[column] = row[column] ?? null;
  return key;
}
