/**
 * Our Fetch record decoding gives the messages kafkajs's own decoder gives, field for field, for the record sets a
 * broker sends (several batches, transactional and control batches, log-append time, a batch cut off at the end
 * of a fetch), leaves what it does not decode (compressed batches) to kafkajs, and kafkajs uses it once installed.
 */
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecordSet } from '../../../services/kafka/record-set-decoding.ts';
import { decodeFetchV11, installFetchDecoding } from '../../../services/kafka/fetch-decoding.ts';

const require = createRequire(import.meta.url);
type Int64 = object;
interface EncoderShape {
  buffer: Buffer;
}
type RecordArgs = {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
};
const Long = require('kafkajs/src/utils/long.js') as { fromValue: (value: number | string) => Int64 };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  args: RecordArgs,
) => EncoderShape;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (args: {
    compression?: number;
    firstOffset?: Int64;
    firstTimestamp?: number;
    maxTimestamp?: number;
    lastOffsetDelta?: number;
    transactional?: boolean;
    producerId?: Int64;
    producerEpoch?: number;
    firstSequence?: number;
    records: EncoderShape[];
  }) => Promise<EncoderShape>;
};
const KafkaDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => object;
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
  decoder: object,
) => Promise<unknown[]>;
const kafkajsV11 = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as {
  decode: (raw: Buffer) => Promise<unknown>;
};
/** kafkajs's Encoder: chained writes into a growing buffer. */
interface KafkaEncoder extends EncoderShape {
  writeInt16(value: number): KafkaEncoder;
  writeInt32(value: number): KafkaEncoder;
  writeInt64(value: Int64 | number): KafkaEncoder;
  writeString(value: string): KafkaEncoder;
  writeBuffer(value: Buffer): KafkaEncoder;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkaEncoder;
const GZIP = 1;
const ATTRIBUTES_AT = 21;
const CONTROL_FLAG = 0x20;
const LOG_APPEND_TIME_FLAG = 0x08;

/** A record batch as kafkajs encodes it (the bytes a broker sends for an uncompressed produce). */
async function batch(options: {
  firstOffset: string;
  records: RecordArgs[];
  transactional?: boolean;
  producerId?: string;
  compression?: number;
  flags?: number;
}): Promise<Buffer> {
  const encoded = await RecordBatch({
    firstOffset: Long.fromValue(options.firstOffset),
    firstTimestamp: 1_764_790_000_123,
    maxTimestamp: 1_764_790_009_999,
    lastOffsetDelta: options.records.length - 1,
    transactional: options.transactional ?? false,
    producerId: Long.fromValue(options.producerId ?? '-1'),
    producerEpoch: 3,
    firstSequence: 17,
    records: options.records.map((record, i) => Record({ offsetDelta: i, ...record })),
    ...(options.compression === undefined ? {} : { compression: options.compression }),
  });
  const bytes = Buffer.from(encoded.buffer);
  // The encoder sets no control or timestamp-type flag; a broker does (neither is covered by a checked CRC here).
  if (options.flags !== undefined)
    bytes.writeInt16BE(bytes.readInt16BE(ATTRIBUTES_AT) | options.flags, ATTRIBUTES_AT);
  return bytes;
}

/** kafkajs's decoding of a RECORDS field holding `bytes`. */
function kafkajsDecode(bytes: Buffer): Promise<unknown[]> {
  const sized = Buffer.alloc(4 + bytes.length);
  sized.writeInt32BE(bytes.length);
  bytes.copy(sized, 4);
  return decodeMessages(new KafkaDecoder(sized));
}

/** A message's fields as plain data (ours reads its headers through a getter). */
function plain(message: unknown): object {
  const m = message as Record<string, unknown> & { batchContext: object };
  return {
    magicByte: m.magicByte,
    attributes: m.attributes,
    timestamp: m.timestamp,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: { ...(m.headers as object) },
    isControlRecord: m.isControlRecord,
    batchContext: { ...m.batchContext },
  };
}

const capture = (i: number): RecordArgs => ({
  key: Buffer.from([2, i & 0xff, 7]),
  value: Buffer.alloc(100 + i, i & 0xff),
  headers: {
    'cdc.position': Buffer.from(`0/1A2B${1000 + i}:${i}`),
    'cdc.table': Buffer.from('public.orders'),
    'cdc.op': Buffer.from('c'),
    'cdc.tx': Buffer.from([0, 0, 1, i & 0xff]),
  },
});

void describe('Fetch record decoding', () => {
  void test('gives the messages kafkajs gives for several batches of capture records', async () => {
    const bytes = Buffer.concat([
      await batch({ firstOffset: '0', records: Array.from({ length: 50 }, (_, i) => capture(i)) }),
      await batch({
        firstOffset: '50',
        records: Array.from({ length: 30 }, (_, i) => capture(i + 50)),
        transactional: true,
        producerId: '4000000001',
      }),
    ]);
    const ours = decodeRecordSet(bytes);
    assert.ok(ours !== null);
    assert.equal(ours.length, 80);
    assert.deepStrictEqual(ours.map(plain), (await kafkajsDecode(bytes)).map(plain));
  });

  void test('agrees on null keys and values, repeated and empty headers, and offsets beyond 2^32', async () => {
    const bytes = await batch({
      firstOffset: '9007199254740000',
      records: [
        { key: null, value: Buffer.from('v'), timestampDelta: -5 },
        { key: Buffer.alloc(0), value: null, timestampDelta: 3_000_000_000 },
        {
          key: Buffer.from('k'),
          value: Buffer.from('x'),
          headers: { a: [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')], é: Buffer.alloc(0) },
        },
      ],
    });
    const ours = decodeRecordSet(bytes);
    assert.ok(ours !== null);
    assert.deepStrictEqual(ours.map(plain), (await kafkajsDecode(bytes)).map(plain));
    assert.deepStrictEqual(
      ours.map((m) => m.offset),
      ['9007199254740000', '9007199254740001', '9007199254740002'],
    );
  });

  void test('agrees on control batches, log-append time, and a batch cut off at the end of the fetch', async () => {
    const marker = await batch({
      firstOffset: '7',
      records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
      transactional: true,
      producerId: '12',
      flags: CONTROL_FLAG,
    });
    const appended = await batch({
      firstOffset: '8',
      records: [capture(1), capture(2)],
      flags: LOG_APPEND_TIME_FLAG,
    });
    const whole = Buffer.concat([marker, appended]);
    const cut = Buffer.concat([
      whole,
      (await batch({ firstOffset: '10', records: [capture(3)] })).subarray(0, 70),
    ]);
    const ours = decodeRecordSet(cut);
    assert.ok(ours !== null);
    assert.deepStrictEqual(ours.map(plain), (await kafkajsDecode(cut)).map(plain));
    assert.deepStrictEqual(
      ours.map((m) => [m.offset, m.isControlRecord, m.timestamp]),
      [
        ['7', true, '1764790000123'],
        ['8', false, '1764790009999'],
        ['9', false, '1764790009999'],
      ],
    );
  });

  void test('declines compressed batches; the whole Fetch response then matches kafkajs, kafkajs decoding those', async () => {
    const compressed = await batch({
      firstOffset: '0',
      records: [capture(1), capture(2)],
      compression: GZIP,
    });
    assert.equal(decodeRecordSet(compressed), null);
    const plainSet = await batch({ firstOffset: '100', records: [capture(3)] });
    const response = new Encoder();
    response.writeInt32(0).writeInt16(0).writeInt32(0);
    response.writeInt32(1).writeString('t1').writeInt32(3);
    for (const [partition, records] of [
      [0, compressed],
      [1, plainSet],
      [2, Buffer.alloc(0)],
    ] as const) {
      response.writeInt32(partition).writeInt16(0).writeInt64(200).writeInt64(200).writeInt64(0);
      response.writeInt32(1).writeInt64(5).writeInt64(150); // one aborted transaction
      response.writeInt32(-1);
      response.writeInt32(records.length).writeBuffer(records);
    }
    const raw = Buffer.from(response.buffer);
    const normalize = (decoded: unknown): unknown => {
      const d = decoded as { responses: { partitions: { messages: unknown[] }[] }[] };
      return {
        ...d,
        responses: d.responses.map((t) => ({
          ...t,
          partitions: t.partitions.map((p) => ({ ...p, messages: p.messages.map(plain) })),
        })),
      };
    };
    const ours = normalize(await decodeFetchV11(raw));
    assert.deepStrictEqual(ours, normalize(await kafkajsV11.decode(raw)));
    const partitions = (ours as { responses: { partitions: { messages: unknown[] }[] }[] }).responses[0]!
      .partitions;
    assert.deepStrictEqual(
      partitions.map((p) => p.messages.length),
      [2, 1, 0],
    );
  });

  void test('once installed, kafkajs decodes Fetch v11 responses with it, and other versions as before', () => {
    const fetch = require('kafkajs/src/protocol/requests/fetch/index.js') as {
      protocol: (selected: { version: number }) => (args: object) => { response: { decode: unknown } };
    };
    const args = { maxWaitTime: 100, minBytes: 1, maxBytes: 1024, topics: [] };
    const before = fetch.protocol({ version: 7 })(args).response.decode;
    installFetchDecoding();
    installFetchDecoding();
    assert.equal(fetch.protocol({ version: 11 })(args).response.decode, decodeFetchV11);
    assert.equal(fetch.protocol({ version: 7 })(args).response.decode, before);
  });
});
