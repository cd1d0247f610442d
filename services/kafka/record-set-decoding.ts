/**
 * Decodes the records of a Fetch response partition (its RECORDS field: uncompressed record batches, magic 2)
 * into the message objects kafkajs's own decoder makes, field for field, with far less work and memory per
 * record. kafkajs 2.2.4 builds each record through a new Decoder over a copied slice, two `Long` sums turned
 * into strings, a Buffer for every header name and value, and a headers object rebuilt by spreading for every
 * header; an apply worker holds two fetches of such records (the one applied, the one fetched meanwhile), and
 * their Buffers alone were a quarter of its heap. Here a record is one object with its key and value (views of
 * the fetched bytes) and its offset and timestamp strings; its headers are decoded when first read, and apply
 * never reads them. What this decoder does not handle (compressed batches, legacy message sets) is left to
 * kafkajs's decoder: `decodeRecordSet` returns null for a record set it does not decode.
 * Like kafkajs, it does not check the batches' CRC: TCP and the broker's own checks are what both rely on.
 */
import type { IHeaders } from 'kafkajs';

/** kafkajs's RecordBatch context, shared by the records of one batch (its `batchContext`). */
export interface BatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly magicByte: number;
}

const RECORD_BATCH_MAGIC = 2;
/** Where the magic byte sits in a batch: after the first offset, the length and the leader epoch. */
const MAGIC_OFFSET = 16;
/** Offset and length: the part of a batch before what its length counts. */
const BATCH_LOG_OVERHEAD = 12;
/** A batch's fixed header, up to and including its record count. */
const BATCH_HEADER_BYTES = 61;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_FLAG_MASK = 0x08;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

/** A fetched record, as kafkajs's record decoder returns it. */
export class FetchedRecord {
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly batchContext: BatchContext;
  /** The fetched bytes, and where this record's header count starts in them. */
  private readonly bytes: Buffer;
  private readonly headersAt: number;
  private decodedHeaders: IHeaders | undefined = undefined;

  constructor(
    attributes: number,
    timestamp: string,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    batchContext: BatchContext,
    bytes: Buffer,
    headersAt: number,
  ) {
    this.attributes = attributes;
    this.timestamp = timestamp;
    this.offset = offset;
    this.key = key;
    this.value = value;
    this.batchContext = batchContext;
    this.bytes = bytes;
    this.headersAt = headersAt;
  }

  get magicByte(): number {
    return this.batchContext.magicByte;
  }

  get isControlRecord(): boolean {
    return this.batchContext.isControlBatch;
  }

  /** kafkajs's shape: a name maps to its value, or to all its values in order when it occurs more than once. */
  get headers(): IHeaders {
    return (this.decodedHeaders ??= decodeHeaders(this.bytes, this.headersAt));
  }
}

/**
 * The records of a record set (`bytes`, without its size prefix), or null when it holds anything but
 * uncompressed record batches. A batch cut off at the end (the broker fills a fetch up to its size) is left out,
 * as kafkajs does; the next fetch starts at it.
 */
export function decodeRecordSet(bytes: Buffer): FetchedRecord[] | null {
  if (bytes.length <= MAGIC_OFFSET || bytes[MAGIC_OFFSET] !== RECORD_BATCH_MAGIC) return null;
  const records: FetchedRecord[] = [];
  let at = 0;
  while (bytes.length - at >= BATCH_HEADER_BYTES) {
    const length = bytes.readInt32BE(at + 8);
    const end = at + BATCH_LOG_OVERHEAD + length;
    if (end > bytes.length) break;
    if (bytes[at + MAGIC_OFFSET] !== RECORD_BATCH_MAGIC) return null;
    const attributes = bytes.readInt16BE(at + 21);
    if ((attributes & COMPRESSION_MASK) !== 0) return null;
    decodeBatch(bytes, at, end, attributes, records);
    at = end;
  }
  return records;
}

function decodeBatch(
  bytes: Buffer,
  start: number,
  end: number,
  attributes: number,
  into: FetchedRecord[],
): void {
  const firstOffset = bytes.readBigInt64BE(start);
  const firstTimestamp = bytes.readBigInt64BE(start + 27);
  const maxTimestamp = bytes.readBigInt64BE(start + 35).toString();
  const timestampType = (attributes & TIMESTAMP_TYPE_FLAG_MASK) !== 0 ? LOG_APPEND_TIME : CREATE_TIME;
  const context: BatchContext = {
    firstOffset: firstOffset.toString(),
    firstTimestamp: firstTimestamp.toString(),
    partitionLeaderEpoch: bytes.readInt32BE(start + 12),
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffsetDelta: bytes.readInt32BE(start + 23),
    producerId: bytes.readBigInt64BE(start + 43).toString(),
    producerEpoch: bytes.readInt16BE(start + 51),
    firstSequence: bytes.readInt32BE(start + 53),
    maxTimestamp,
    timestampType,
    magicByte: bytes[start + MAGIC_OFFSET]!,
  };
  // For log-append time every record carries the batch's max timestamp, as in kafkajs.
  const appendTime = timestampType === LOG_APPEND_TIME ? maxTimestamp : null;
  // Sums in plain numbers while they are exact (always, for offsets and epoch milliseconds).
  const offsetBase = Number.isSafeInteger(Number(firstOffset)) ? Number(firstOffset) : null;
  const timeBase = Number.isSafeInteger(Number(firstTimestamp)) ? Number(firstTimestamp) : null;
  const count = bytes.readInt32BE(start + 57);
  const reader = new VarReader(bytes, start + BATCH_HEADER_BYTES);
  for (let i = 0; i < count && reader.at < end; i++) {
    const recordEnd = reader.varInt() + reader.at;
    const recordAttributes = bytes.readInt8(reader.at++);
    const timestampDelta = reader.varLong();
    const offsetDelta = reader.varInt();
    const key = reader.bytes();
    const value = reader.bytes();
    into.push(
      new FetchedRecord(
        recordAttributes,
        appendTime ??
          (timeBase === null
            ? (firstTimestamp + BigInt(timestampDelta)).toString()
            : String(timeBase + timestampDelta)),
        offsetBase === null
          ? (firstOffset + BigInt(offsetDelta)).toString()
          : String(offsetBase + offsetDelta),
        key,
        value,
        context,
        bytes,
        reader.at,
      ),
    );
    reader.at = recordEnd;
  }
}

function decodeHeaders(bytes: Buffer, at: number): IHeaders {
  const reader = new VarReader(bytes, at);
  const headers: IHeaders = {};
  const count = reader.varInt();
  for (let i = 0; i < count; i++) {
    const nameLength = reader.varInt();
    const name = bytes.toString('utf8', reader.at, reader.at + nameLength);
    reader.at += nameLength;
    const value = reader.bytes();
    // A null value stays null, as kafkajs leaves it (IHeaders has no null in its type).
    const earlier = headers[name];
    if (earlier === undefined) headers[name] = value as Buffer;
    else headers[name] = (Array.isArray(earlier) ? [...earlier, value] : [earlier, value]) as Buffer[];
  }
  return headers;
}

/** Kafka's zigzag varints, read from `at` on. */
class VarReader {
  private readonly buffer: Buffer;
  at: number;

  constructor(buffer: Buffer, at: number) {
    this.buffer = buffer;
    this.at = at;
  }

  varInt(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buffer[this.at++]!;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** Exact up to 2^53, far beyond a timestamp delta within one batch. */
  varLong(): number {
    let result = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = this.buffer[this.at++]!;
      result += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    return result % 2 === 1 ? -(result + 1) / 2 : result / 2;
  }

  /** A length-prefixed byte string as a view of the buffer (no copy), or null for length -1. */
  bytes(): Buffer | null {
    const length = this.varInt();
    if (length < 0) return null;
    const start = this.at;
    this.at += length;
    return this.buffer.subarray(start, this.at);
  }
}
