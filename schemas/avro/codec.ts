/**
 * Change events to Kafka message bytes and back, with Avro single-object encoding: `0xC3 0x01`, the 8-byte
 * little-endian CRC-64-AVRO fingerprint of the writer schema, then the Avro binary body. A reader finds the
 * writer schema by that fingerprint (see services/kafka/schema-store.ts) and decodes with it, so events written
 * before and after a schema change each decode with their own schema.
 *
 * Messages in the Confluent wire format (byte 0, a 4-byte big-endian registry id, the same Avro body; written when
 * `kafka.schemaRegistry` is set, see registry-form.ts) decode here too: their schema id is `registry:<id>`.
 *
 * Everything derived from a table schema (Avro types, fingerprints, row plans) is built once and cached: by
 * object identity on the way out (connectors reuse one TableSchema object per table version), by fingerprint on
 * the way in.
 */
import type avsc from 'avsc';
import { RowCodec, type EncodedRow } from './row-codec.ts';
import { keyColumnsOf, keySchemaOf, tableFromValueSchema, valueSchemaOf } from './table-avro.ts';
import { WIRE_HEADER_BYTES, WIRE_MAGIC } from './registry-form.ts';
import { writerSchema, type WriterSchema } from './writer-schema.ts';
import type { ChangeEvent, Row } from '../events/change-event.ts';
import { tableId, type TableSchema } from '../events/table-schema.ts';
import {
  formatCommit,
  formatPosition,
  parseCommit,
  type CommitPosition,
  type EventPosition,
} from '../positions/position.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';

export type { WriterSchema } from './writer-schema.ts';

/** Finds a writer schema by id (hex of the header's fingerprint bytes); synchronous so decoding stays fast. */
export type SchemaLookup = (id: string) => WriterSchema | undefined;

export interface EncodedEvent {
  /** Avro single-object encoding of the key columns; null for a table without a key, and for truncates. */
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly schemas: { readonly value: WriterSchema; readonly key: WriterSchema | null };
}

interface TableEncoder {
  readonly value: WriterSchema;
  readonly key: WriterSchema | null;
  readonly row: RowCodec;
  readonly keyRow: RowCodec | null;
  readonly keyColumns: readonly string[];
}

const byIdentity = new WeakMap<TableSchema, TableEncoder>();
// Fallback for connectors that build a fresh (but equal) TableSchema per event.
const byContent = new Map<string, TableEncoder>();

function encoderFor(table: TableSchema): TableEncoder {
  const known = byIdentity.get(table);
  if (known) return known;
  const content = JSON.stringify(table);
  let encoder = byContent.get(content);
  if (!encoder) {
    const valueSchema = valueSchemaOf(table);
    const keySchema = keySchemaOf(table);
    const { avroNames } = tableFromValueSchema(valueSchema);
    const keyColumns = keyColumnsOf(table);
    const keyNames = keySchema ? (keySchema.fields as { name: string }[]).map((field) => field.name) : [];
    encoder = {
      value: writerSchema(valueSchema),
      key: keySchema ? writerSchema(keySchema) : null,
      row: new RowCodec(table.columns, avroNames),
      keyRow: keySchema ? new RowCodec(keyColumns, keyNames) : null,
      keyColumns: table.key,
    };
    byContent.set(content, encoder);
  }
  byIdentity.set(table, encoder);
  return encoder;
}

/** The writer schemas an event of this table is encoded with (for registering them ahead of publishing). */
export function schemasOf(table: TableSchema): {
  readonly value: WriterSchema;
  readonly key: WriterSchema | null;
} {
  const encoder = encoderFor(table);
  return { value: encoder.value, key: encoder.key };
}

let scratch = Buffer.allocUnsafe(64 * 1024);

function singleObject(schema: WriterSchema, record: unknown, what: () => string): Buffer {
  for (;;) {
    let end: number;
    try {
      end = schema.type.encode(record, scratch, 10);
    } catch (error) {
      throw new CdcError(
        'DECODE_FAILED',
        `cannot encode ${what()}: ${describeInvalid(schema.type, record) ?? errorMessage(error)}`,
        {},
        { cause: error },
      );
    }
    if (end >= 0) {
      const out = Buffer.allocUnsafe(end);
      schema.header.copy(out, 0);
      scratch.copy(out, 10, 10, end);
      return out;
    }
    // avsc returns minus the missing byte count when the buffer is too small.
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end + 1024));
  }
}

/** Names the path and value avsc refused, which its own error does not. */
function describeInvalid(type: avsc.Type, record: unknown): string | null {
  let found: string | null = null;
  type.isValid(record, {
    errorHook: (path: string[], value: unknown) => {
      found ??= `field ${path.join('.')} cannot hold ${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    },
  });
  return found;
}

const EMPTY: readonly string[] = Object.freeze([]);

export function encodeEvent(event: ChangeEvent): EncodedEvent {
  const encoder = encoderFor(event.table);
  const where = (side: string): string => `${side} of a ${event.op} event on ${tableId(event.table)}`;
  const before: EncodedRow | null =
    event.before === null ? null : encoder.row.toAvro(event.before, () => where('before'));
  const after: EncodedRow | null =
    event.after === null ? null : encoder.row.toAvro(event.after, () => where('after'));
  const { source, transaction } = event;
  const record = {
    before: before?.record ?? null,
    after: after?.record ?? null,
    op: event.op,
    source: {
      connector: source.connector,
      position: formatPosition(source.position),
      txId: source.txId,
      commitTimeMicros: source.commitTimeMicros,
      origin: source.origin,
      snapshot: source.snapshot,
      originCommit: source.originCommit === undefined ? null : formatCommit(source.originCommit),
    },
    transaction:
      transaction === null
        ? null
        : {
            id: transaction.id,
            index: BigInt(transaction.index),
            total: transaction.total === null ? null : BigInt(transaction.total),
          },
    unchanged: event.op === 'u' ? event.unchanged : EMPTY,
    beforeAbsent: before?.absent ?? EMPTY,
    afterAbsent: after?.absent ?? EMPTY,
  };
  const value = singleObject(encoder.value, record, () => `${event.op} event on ${tableId(event.table)}`);
  const keySource = event.after ?? event.before;
  let key: Buffer | null = null;
  if (encoder.key !== null && encoder.keyRow !== null && keySource !== null) {
    const keyRecord = encoder.keyRow.toAvro(pick(keySource, encoder.keyColumns), () => where('key'));
    if (keyRecord.absent.length > 0) {
      throw new CdcError(
        'DECODE_FAILED',
        `${where('row')} has no value for key column(s) ${keyRecord.absent.join(', ')}`,
      );
    }
    key = singleObject(encoder.key, keyRecord.record, () => `key of ${tableId(event.table)}`);
  }
  return { key, value, schemas: { value: encoder.value, key: encoder.key } };
}

function pick(row: Row, columns: readonly string[]): Row {
  const picked: Record<string, Row[string]> = {};
  for (const column of columns) {
    const value = row[column];
    if (value !== undefined) picked[column] = value;
  }
  return picked;
}

/** The prefix of the schema id of a Confluent wire-format message: `registry:` and the registry's schema id. */
export const REGISTRY_ID_PREFIX = 'registry:';

/** Bytes before the Avro body: 5 in the Confluent wire format, 10 in single-object encoding. */
export function headerBytesOf(message: Uint8Array): number {
  return message[0] === WIRE_MAGIC ? WIRE_HEADER_BYTES : 10;
}

/**
 * The schema id in a message: the hex fingerprint of a single-object message, `registry:<id>` for the Confluent
 * wire format; throws when the bytes are neither.
 */
export function schemaIdOf(message: Uint8Array): string {
  if (message.length >= WIRE_HEADER_BYTES && message[0] === WIRE_MAGIC) {
    const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
    return `${REGISTRY_ID_PREFIX}${view.getUint32(1)}`;
  }
  if (message.length < 10 || message[0] !== 0xc3 || message[1] !== 0x01) {
    throw new CdcError(
      'DECODE_FAILED',
      `not an Avro single-object or Confluent wire-format message (${message.length} bytes, header ${Buffer.from(message.subarray(0, 2)).toString('hex')})`,
    );
  }
  // Consecutive messages mostly carry the same fingerprint: its text is made once.
  const high = (message[2]! * 0x1000000 + ((message[3]! << 16) | (message[4]! << 8) | message[5]!)) >>> 0;
  const low = (message[6]! * 0x1000000 + ((message[7]! << 16) | (message[8]! << 8) | message[9]!)) >>> 0;
  if (high !== lastFingerprint.high || low !== lastFingerprint.low || lastFingerprint.text === '') {
    lastFingerprint = {
      high,
      low,
      text: Buffer.from(message.buffer, message.byteOffset + 2, 8).toString('hex'),
    };
  }
  return lastFingerprint.text;
}

let lastFingerprint = { high: 0, low: 0, text: '' };

interface TableDecoder {
  readonly schema: WriterSchema;
  readonly table: TableSchema;
  readonly type: avsc.Type;
  readonly row: RowCodec;
}

const decoders = new Map<string, TableDecoder>();

function decoderFor(id: string, lookup: SchemaLookup): TableDecoder {
  const known = decoders.get(id);
  // A registry id is only unique within one registry (two registries in one process, or one whose storage was
  // reset, give the same id to different schemas): it is trusted only while the lookup still answers it.
  if (known && (!id.startsWith(REGISTRY_ID_PREFIX) || lookup(id) === known.schema)) return known;
  const schema = lookup(id);
  if (!schema)
    throw new CdcError('SCHEMA_UNKNOWN', `no writer schema ${id} in the schema store or registry`, {
      schemaId: id,
    });
  const { table, avroNames } = tableFromValueSchema(JSON.parse(schema.json));
  const decoder = { schema, table, type: schema.type, row: new RowCodec(table.columns, avroNames) };
  decoders.set(id, decoder);
  return decoder;
}

interface EnvelopeRecord {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: string;
  source: {
    connector: string;
    position: string;
    txId: string | null;
    commitTimeMicros: bigint;
    origin: string | null;
    snapshot: boolean;
    /** Absent from events written before the field existed. */
    originCommit?: string | null;
  };
  transaction: { id: string; index: bigint; total: bigint | null } | null;
  unchanged: string[];
  beforeAbsent: string[];
  afterAbsent: string[];
}

// Consecutive events mostly share a commit: parse each commit text once.
let lastCommitText = '';
let lastCommit: CommitPosition | null = null;

function parseEventPosition(text: string): EventPosition {
  const hash = text.lastIndexOf('#');
  const index = Number(text.slice(hash + 1));
  if (hash < 0 || !Number.isSafeInteger(index) || index < 0) {
    throw new CdcError('DECODE_FAILED', `event carries an invalid position ${JSON.stringify(text)}`);
  }
  const commitText = text.slice(0, hash);
  if (lastCommit === null || commitText !== lastCommitText) {
    lastCommit = parseCommit(commitText);
    lastCommitText = commitText;
  }
  return { commit: lastCommit, index };
}

/**
 * Rebuilds a change event from a message value; the value is self-contained, so the key is only accepted to let
 * callers hand over a message as it came.
 */
export function decodeEvent(_key: Uint8Array | null, value: Uint8Array, lookup: SchemaLookup): ChangeEvent {
  const decoder = decoderFor(schemaIdOf(value), lookup);
  const buffer = Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  let decoded: { value: unknown; offset: number };
  try {
    decoded = decoder.type.decode(buffer, headerBytesOf(buffer));
  } catch (error) {
    throw new CdcError(
      'DECODE_FAILED',
      `cannot decode an event of ${tableId(decoder.table)}: ${errorMessage(error)}`,
      {},
      { cause: error },
    );
  }
  if (decoded.offset !== buffer.length) {
    throw new CdcError(
      'DECODE_FAILED',
      `event of ${tableId(decoder.table)} is truncated or has trailing bytes (${decoded.offset} of ${buffer.length})`,
    );
  }
  const record = decoded.value as EnvelopeRecord;
  const { source: s, transaction: t } = record;
  const source = {
    connector: s.connector,
    position: parseEventPosition(s.position),
    txId: s.txId,
    commitTimeMicros: s.commitTimeMicros,
    origin: s.origin,
    snapshot: s.snapshot,
    ...(s.originCommit != null ? { originCommit: parseCommit(s.originCommit) } : {}),
  };
  const transaction =
    t === null
      ? null
      : { id: t.id, index: Number(t.index), total: t.total === null ? null : Number(t.total) };
  const before = record.before === null ? null : decoder.row.fromAvro(record.before, record.beforeAbsent);
  const after = record.after === null ? null : decoder.row.fromAvro(record.after, record.afterAbsent);
  const base = { table: decoder.table, source, transaction };
  const op = record.op;
  if ((op === 'c' || op === 'r') && before === null && after !== null) return { ...base, op, before, after };
  if (op === 'u' && after !== null) return { ...base, op, before, after, unchanged: record.unchanged };
  if (op === 'd' && before !== null && after === null) return { ...base, op, before, after };
  if (op === 't' && before === null && after === null) return { ...base, op, before, after };
  throw new CdcError(
    'DECODE_FAILED',
    `event of ${tableId(decoder.table)} has op ${JSON.stringify(op)} with before ${before === null ? 'null' : 'set'} and after ${after === null ? 'null' : 'set'}`,
  );
}
