/**
 * What the publisher gathers between two Kafka transactions: the encoded changelog messages of one or more
 * capture batches, the schemas they need that the schema topic may not have yet, and the position, commit and
 * connector state to store with them. Also the guard that keeps positions strictly increasing, and the size
 * limit of one event (see oversized.ts).
 */
import type { Message } from 'kafkajs';
import { encodeEvent, type WriterSchema } from '../../schemas/avro/codec.ts';
import { tableId, type TableSchema } from '../../schemas/events/table-schema.ts';
import {
  comparePosition,
  formatCommit,
  formatPosition,
  type CommitPosition,
  type EventPosition,
} from '../../schemas/positions/position.ts';
import type { CaptureBatch, ConnectorState } from '../../connectors/connector.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { oversizedError, sideTopicMessage, type EventSizeLimit } from './oversized.ts';
import { transactionKey, type KeyedLayout } from './keyed-changelog.ts';

export class CaptureRun {
  readonly messages: Message[] = [];
  /** Events over the size limit, as side-topic records (kafka.oversizedEvents: sideTopic). */
  readonly diverted: Message[] = [];
  readonly newSchemas = new Map<string, WriterSchema>();
  /** The events whose messages are in `messages`, in the same order (for the subscriber topics). */
  readonly kept: ChangeEvent[] = [];
  bytes = 0;
  events = 0;
  batches = 0;
  /** Events dropped by the guard: at or before the last published position. */
  skipped = 0;
  /** When the first batch of this run arrived (ms since epoch), for the time-based flush. */
  startedAt = 0;
  /** Last commit position seen in this run: acknowledged to the connector once the run committed in Kafka. */
  commit: CommitPosition | null = null;
  position: EventPosition | null;
  state: ConnectorState | null;
  private readonly isRegistered: (schema: WriterSchema) => boolean;
  private readonly limit: EventSizeLimit | null;
  /** The last event this run put in the changelog, and where its message is (see `closeTransaction`). */
  private lastKept: { readonly event: ChangeEvent; readonly slot: number } | null = null;
  /** Schemas the previous run registers in its transaction, which always commits before this run's. */
  private readonly pending: ReadonlyMap<string, WriterSchema>;
  /** A keyed changelog's layout (null: one ordered partition), and the source transactions that ended in this run. */
  private readonly layout: KeyedLayout | null;
  private readonly ended = new Set<string>();

  constructor(
    resume: { position: EventPosition | null; state: ConnectorState | null },
    isRegistered: (schema: WriterSchema) => boolean,
    limit: EventSizeLimit | null = null,
    pending: ReadonlyMap<string, WriterSchema> = new Map(),
    layout: KeyedLayout | null = null,
  ) {
    this.layout = layout;
    this.isRegistered = isRegistered;
    this.limit = limit;
    this.pending = pending;
    this.position = resume.position;
    this.state = resume.state;
  }

  add(batch: CaptureBatch, now: number): void {
    if (this.batches === 0) this.startedAt = now;
    this.batches++;
    for (const event of batch.events) {
      const position = event.source.position;
      if (this.position !== null && comparePosition(position, this.position) <= 0) {
        this.skipped++;
        continue;
      }
      this.position = position;
      if (this.layout !== null && event.transaction !== null && event.transaction.total !== null)
        this.ended.add(transactionKey(event));
      const encoded = encodeEvent(event);
      if (encoded.schemas.key !== null) this.need(encoded.schemas.key);
      const table = tableBytes(event.table);
      const key = encoded.key ?? table;
      const headers: Record<string, string | Buffer> = {
        'cdc.position': formatPosition(position),
        'cdc.table': table,
        'cdc.op': OP_BYTES[event.op],
      };
      if (event.source.txId !== null) headers['cdc.tx'] = txIdBytes(event.source.txId);
      // Where a re-published change was first written, for consumers that filter without decoding the value.
      if (event.source.origin !== null) headers['cdc.origin'] = event.source.origin;
      if (event.source.originCommit !== undefined)
        headers['cdc.origin.commit'] = formatCommit(event.source.originCommit);
      // Partition 0 explicitly: an ordered changelog is one log even if someone added partitions (a keyed one is
      // laid out when the run is written, changelogMessages).
      const message: Message = { key, value: encoded.value, partition: 0, headers };
      const bytes = key.length + encoded.value.length + headerBytes(message);
      if (this.limit !== null && bytes > this.limit.maxEventBytes) {
        if (this.limit.policy === 'fail') throw oversizedError(event, bytes, this.limit);
        this.diverted.push(sideTopicMessage(event, key, bytes, this.limit));
        this.closeTransaction(event);
        continue;
      }
      this.need(encoded.schemas.value);
      this.lastKept = { event, slot: this.messages.length };
      this.messages.push(message);
      this.kept.push(event);
      this.bytes += bytes + 100;
      this.events++;
    }
    if (batch.commit !== null) this.commit = batch.commit;
    if (batch.state !== undefined) this.state = batch.state;
  }

  /**
   * A diverted event that ended its transaction leaves the changelog's part of it without a last event, so an
   * apply worker would wait for one that never comes: the transaction's previous event, when still in this run,
   * is written again as its last (`total` = its index + 1). Only the `total` changes; the replica then applies
   * the transaction whole, without the diverted change.
   */
  private closeTransaction(diverted: ChangeEvent): void {
    const ended = diverted.transaction;
    const kept = this.lastKept;
    if (ended === null || ended.total === null || ended.index < ended.total - 1 || kept === null) return;
    const info = kept.event.transaction;
    if (info === null || info.id !== ended.id || kept.event.source.txId !== diverted.source.txId) return;
    const closed = { ...kept.event, transaction: { ...info, total: info.index + 1 } };
    this.messages[kept.slot] = { ...this.messages[kept.slot]!, value: encodeEvent(closed).value };
    this.kept[kept.slot] = closed;
  }

  /**
   * The changelog records to write: `messages` as they are for an ordered changelog, spread over the partitions
   * for a keyed one (keyed-changelog.ts). Called once per run, when it is written.
   */
  changelogMessages(): Message[] {
    if (this.layout === null) return this.messages;
    const records = this.kept.map((event, slot) => ({ event, message: this.messages[slot]! }));
    return this.layout.place(records, this.ended);
  }

  /** Every schema this run's messages use, by id (for re-framing them for a registry). */
  private readonly used = new Map<string, WriterSchema>();

  schemaOf(id: string): WriterSchema | undefined {
    return this.used.get(id);
  }

  private need(schema: WriterSchema): void {
    this.used.set(schema.id, schema);
    if (!this.newSchemas.has(schema.id) && !this.pending.has(schema.id) && !this.isRegistered(schema))
      this.newSchemas.set(schema.id, schema);
  }

  /**
   * Starts the next run from where this one ends. It may gather while this run's transaction is still being
   * written: this run's schemas then count as registered (if this transaction fails, the next never commits).
   */
  next(): CaptureRun {
    return new CaptureRun(
      { position: this.position, state: this.state },
      this.isRegistered,
      this.limit,
      this.newSchemas,
      this.layout,
    );
  }
}

/**
 * Header values repeated across events, as Buffers shared by their messages (never written to): the producer
 * copies a Buffer where it would measure and encode a string again for each message, several times over.
 */
const OP_BYTES: Readonly<Record<ChangeEvent['op'], Buffer>> = {
  c: Buffer.from('c'),
  u: Buffer.from('u'),
  d: Buffer.from('d'),
  r: Buffer.from('r'),
  t: Buffer.from('t'),
};
const tableIds = new WeakMap<TableSchema, Buffer>();
let lastTxId = '';
let lastTxIdBytes = Buffer.alloc(0);

function tableBytes(table: TableSchema): Buffer {
  let bytes = tableIds.get(table);
  if (bytes === undefined) tableIds.set(table, (bytes = Buffer.from(tableId(table), 'utf8')));
  return bytes;
}

function txIdBytes(txId: string): Buffer {
  if (txId !== lastTxId || lastTxIdBytes.length === 0) {
    lastTxId = txId;
    lastTxIdBytes = Buffer.from(txId, 'utf8');
  }
  return lastTxIdBytes;
}

/**
 * Splits messages into chunks under `maxBytes`, so no produce request exceeds the broker's message.max.bytes,
 * and of at most `maxMessages` messages: kafkajs's own grouping of a send's messages by partition takes time
 * quadratic in their number (it copies the partition's array for every message). services/kafka/kafkajs.ts
 * replaces it with a linear one, so the publisher's cap is now set by request bytes rather than by this.
 */
export function chunks(
  messages: readonly Message[],
  maxBytes: number,
  maxMessages = Number.POSITIVE_INFINITY,
): Message[][] {
  const result: Message[][] = [];
  let current: Message[] = [];
  let size = 0;
  for (const message of messages) {
    const length = (message.value?.length ?? 0) + (message.key?.length ?? 0) + headerBytes(message) + 30;
    if (current.length > 0 && (size + length > maxBytes || current.length >= maxMessages)) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push(message);
    size += length;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** Bytes the message's headers take in a record (names and values plus their length prefixes). */
function headerBytes(message: Message): number {
  let total = 0;
  const headers = message.headers;
  if (headers === undefined) return 0;
  // for…in rather than entries or keys: no array for each message (this runs twice per event).
  for (const name in headers) {
    const value = headers[name];
    total += name.length + 4;
    if (typeof value === 'string') total += Buffer.byteLength(value);
    else if (Buffer.isBuffer(value)) total += value.length;
  }
  return total;
}
