/**
 * The body of a Kafka Produce request (versions 3 to 7, one uncompressed record batch per partition, magic 2),
 * written into one buffer sized beforehand. kafkajs 2.2.4 builds the same bytes through a fresh zero-filled
 * 512-byte Encoder for every record and every header, a new Buffer for every varint and BigInt arithmetic for
 * every timestamp delta, then copies each of them again into the batch: in capture that encoding and its
 * garbage were the largest cost of producing. The output is byte for byte what kafkajs writes
 * (test/unit/kafka/produce-request.test.ts compares them), so brokers, consumers and kafkajs's own sequence
 * and transaction bookkeeping see no difference.
 */
import { crc32c } from './crc32c.ts';

/**
 * A 64-bit integer as kafkajs carries it: its Long before a producer id was assigned, the decimal string of
 * the InitProducerId response after.
 */
export type Int64 = { getHighBits(): number; getLowBits(): number } | string | number;

export type HeaderValue = Buffer | string;

/** A message as kafkajs hands it to the Produce request. */
export interface ProduceMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, HeaderValue | readonly HeaderValue[] | undefined>>;
  readonly timestamp?: string;
}

export interface ProducePartition {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

export interface ProduceTopic {
  readonly topic: string;
  readonly partitions: readonly ProducePartition[];
}

export interface ProduceRequest {
  readonly transactionalId?: string | null;
  readonly acks: number;
  readonly timeout: number;
  readonly producerId: Int64;
  readonly producerEpoch: number;
  readonly topicData: readonly ProduceTopic[];
}

const MAGIC = 2;
const TRANSACTIONAL = 0x10;
/** Bytes of a record batch after its length field and before its records. */
const BATCH_HEADER = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** Where the CRC starts counting: the attributes, after epoch, magic and the CRC itself. */
const CRC_FROM = 4 + 1 + 4;

/** What `recordsSize` answers for a message we leave to kafkajs. */
const NOT_PLAIN = -1;

/**
 * The request body (what follows the request header), with `now` as every batch's timestamps; null when the
 * request is not one we write: messages with timestamps (kafkajs keeps its own path for those), or keys,
 * values or headers of other types than kafkajs documents. Those go to kafkajs unchanged, errors included.
 */
export function encodeProduceRequest(request: ProduceRequest, now: number): Buffer | null {
  const transactionalId = request.transactionalId ?? null;
  const sizes: number[] = [];
  let total = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  for (const { topic, partitions } of request.topicData) {
    total += 2 + Buffer.byteLength(topic) + 4;
    for (const { messages } of partitions) {
      const records = recordsSize(messages, sizes);
      if (records === NOT_PLAIN) return null;
      total += 4 + 4 + 8 + 4 + BATCH_HEADER + records;
    }
  }
  const out = new Writer(Buffer.allocUnsafe(total));
  out.string(transactionalId);
  out.int16(request.acks);
  out.int32(request.timeout);
  out.int32(request.topicData.length);
  let record = 0;
  for (const { topic, partitions } of request.topicData) {
    out.string(topic);
    out.int32(partitions.length);
    for (const { partition, firstSequence, messages } of partitions) {
      out.int32(partition);
      const sizeAt = out.pos;
      out.pos += 4 + 8 + 4; // record set size, first offset, batch length: written once the batch is done
      const batchStart = out.pos;
      out.int32(0); // partition leader epoch
      out.int8(MAGIC);
      out.pos += 4; // CRC
      out.int16(transactionalId === null ? 0 : TRANSACTIONAL);
      out.int32(messages.length - 1); // last offset delta
      out.int64(Math.floor(now / 2 ** 32), now >>> 0); // first timestamp
      out.int64(Math.floor(now / 2 ** 32), now >>> 0); // max timestamp
      out.int64(...int64Halves(request.producerId));
      out.int16(request.producerEpoch);
      out.int32(firstSequence ?? 0);
      out.int32(messages.length);
      for (let i = 0; i < messages.length; i++) out.record(messages[i]!, i, sizes[record++]!);
      const batchLength = out.pos - batchStart;
      out.buf.writeInt32BE(batchLength + 12, sizeAt);
      out.buf.writeInt32BE(0, sizeAt + 4);
      out.buf.writeInt32BE(0, sizeAt + 8);
      out.buf.writeInt32BE(batchLength, sizeAt + 12);
      out.buf.writeUInt32BE(crc32c(out.buf, batchStart + CRC_FROM, out.pos), batchStart + 5);
    }
  }
  return out.buf;
}

function int64Halves(value: Int64): [high: number, low: number] {
  if (typeof value === 'object') return [value.getHighBits(), value.getLowBits()];
  const big = BigInt.asIntN(64, BigInt(value));
  return [Number(big >> 32n), Number(big & 0xffffffffn)];
}

/**
 * Bytes of the records, pushing each record's body size to `sizes` (its length prefix); NOT_PLAIN as soon as a
 * message is not one we write.
 */
function recordsSize(messages: readonly ProduceMessage[], sizes: number[]): number {
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.timestamp != null) return NOT_PLAIN;
    const key = bytesSize(message.key, true);
    const value = bytesSize(message.value, true);
    if (key === NOT_PLAIN || value === NOT_PLAIN) return NOT_PLAIN;
    // attributes, timestamp delta (always 0: every record takes the batch's time), offset delta
    let body = 1 + 1 + varIntSize(i) + key + value;
    let count = 0;
    const headers = message.headers;
    if (headers !== undefined) {
      // for…in rather than Object.keys: no array of names per message.
      for (const name in headers) {
        const header: unknown = headers[name];
        const nameSize = bytesSize(headerName(name), false);
        if (!Array.isArray(header)) {
          const size = bytesSize(header, false);
          if (size === NOT_PLAIN) return NOT_PLAIN;
          body += nameSize + size;
          count++;
          continue;
        }
        for (const item of header as unknown[]) {
          const size = bytesSize(item, false);
          if (size === NOT_PLAIN) return NOT_PLAIN;
          body += nameSize + size;
        }
        count += header.length;
      }
    }
    body += varIntSize(count);
    sizes.push(body);
    total += varIntSize(body) + body;
  }
  return total;
}

/**
 * Header names as UTF-8, remembered: every record repeats the same few, and measuring and encoding each again
 * was a visible share of capture's CPU. Bounded, in case a caller invents names.
 */
const headerNames = new Map<string, Buffer>();

function headerName(name: string): Buffer {
  let bytes = headerNames.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(name, 'utf8');
    if (headerNames.size < 256) headerNames.set(name, bytes);
  }
  return bytes;
}

/** Bytes of a nullable byte string with its varint length; NOT_PLAIN for a type kafkajs does not document. */
function bytesSize(value: unknown, nullable: boolean): number {
  if (value === null || value === undefined) return nullable ? 1 : NOT_PLAIN;
  let length: number;
  if (typeof value === 'string') length = Buffer.byteLength(value);
  else if (Buffer.isBuffer(value)) length = value.length;
  else return NOT_PLAIN;
  return varIntSize(length) + length;
}

/** Bytes of a zigzag varint (Kafka's signed varint) of a 32-bit integer. */
function varIntSize(value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned >>>= 7;
    size++;
  }
  return size;
}

class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  int8(value: number): void {
    this.buf[this.pos++] = value;
  }

  int16(value: number): void {
    this.pos = this.buf.writeInt16BE(value, this.pos);
  }

  int32(value: number): void {
    this.pos = this.buf.writeInt32BE(value, this.pos);
  }

  int64(high: number, low: number): void {
    this.pos = this.buf.writeInt32BE(high | 0, this.pos);
    this.pos = this.buf.writeInt32BE(low | 0, this.pos);
  }

  string(value: string | null): void {
    if (value === null) return this.int16(-1);
    this.pos = this.buf.writeInt16BE(Buffer.byteLength(value), this.pos);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  varInt(value: number): void {
    let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
    while (unsigned >= 0x80) {
      this.buf[this.pos++] = (unsigned & 0x7f) | 0x80;
      unsigned >>>= 7;
    }
    this.buf[this.pos++] = unsigned;
  }

  bytes(value: HeaderValue | null | undefined): void {
    if (value === null || value === undefined) return this.varInt(-1);
    if (typeof value === 'string') {
      this.varInt(Buffer.byteLength(value));
      this.pos += this.buf.write(value, this.pos, 'utf8');
    } else {
      this.varInt(value.length);
      this.pos += value.copy(this.buf, this.pos);
    }
  }

  record(message: ProduceMessage, offsetDelta: number, bodySize: number): void {
    this.varInt(bodySize);
    this.int8(0); // attributes
    this.int8(0); // timestamp delta
    this.varInt(offsetDelta);
    this.bytes(message.key);
    this.bytes(message.value);
    const headers = message.headers;
    if (headers === undefined) return this.varInt(0);
    let count = 0;
    for (const name in headers) {
      const value = headers[name] as HeaderValue | readonly HeaderValue[];
      count += typeof value === 'string' || Buffer.isBuffer(value) ? 1 : value.length;
    }
    this.varInt(count);
    for (const name in headers) {
      const value = headers[name] as HeaderValue | readonly HeaderValue[];
      if (typeof value === 'string' || Buffer.isBuffer(value)) {
        this.bytes(headerName(name));
        this.bytes(value);
      } else {
        for (const item of value) {
          this.bytes(headerName(name));
          this.bytes(item);
        }
      }
    }
  }
}
