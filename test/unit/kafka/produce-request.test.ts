/**
 * Our Produce request encoding writes exactly the bytes kafkajs's own does, for the messages capture sends
 * and for the other shapes kafkajs accepts, and kafkajs uses it once installed.
 */
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { crc32c } from '../../../services/kafka/crc32c.ts';
import { installProduceEncoding } from '../../../services/kafka/produce-encoding.ts';
import {
  encodeProduceRequest,
  type Int64,
  type ProduceMessage,
  type ProduceRequest,
} from '../../../services/kafka/produce-request.ts';

const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
type RequestModule = (args: object) => { encode: () => Promise<Encoded> };
const kafkajsV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as RequestModule;
const kafkajsV7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as RequestModule;
const Long = require('kafkajs/src/utils/long.js') as { fromValue: (value: number | string) => Int64 };
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (bytes: Buffer) => number;
const produceDefinition = require('kafkajs/src/protocol/requests/produce/index.js') as {
  protocol: (selected: {
    version: number;
  }) => (args: object) => { request: { encode: () => Promise<Encoded> } };
};

const NOW = 1_764_790_000_123;

/** Messages as capture builds them: Avro key and value, the four cdc headers, partition 0. */
function captureMessages(count: number): ProduceMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from([2, i & 0xff, 7]),
    value: Buffer.alloc(120 + (i % 40), i & 0xff),
    headers: {
      'cdc.position': `0/1A2B${(1000 + i).toString(16).toUpperCase()}:${i}`,
      'cdc.table': 'public.orders',
      'cdc.op': i % 3 === 0 ? 'c' : 'u',
      'cdc.tx': '48213',
    },
  }));
}

/** Every other shape kafkajs accepts without timestamps: strings, nulls, array and Buffer headers, UTF-8. */
const oddMessages: ProduceMessage[] = [
  { key: 'a string key', value: 'a string value' },
  { key: null, value: Buffer.from('no key') },
  { value: null, headers: {} },
  { key: 'ключ', value: 'значение ✓', headers: { заголовок: 'ünïcödé', bin: Buffer.from([0, 255, 1]) } },
  {
    key: Buffer.alloc(0),
    value: Buffer.alloc(300, 9),
    headers: { multi: ['one', Buffer.from('two'), 'three'] },
  },
  { value: 'x'.repeat(70_000), headers: { empty: '' } },
];

function request(overrides: Partial<ProduceRequest> = {}): ProduceRequest {
  return {
    transactionalId: 'prefix.capture.orders',
    acks: -1,
    timeout: 30_000,
    producerId: Long.fromValue('1234567890123'),
    producerEpoch: 3,
    topicData: [
      {
        topic: 'prefix.orders.changes',
        partitions: [{ partition: 0, firstSequence: 5000, messages: captureMessages(500) }],
      },
    ],
    ...overrides,
  };
}

async function kafkajsBytes(module: RequestModule, args: ProduceRequest): Promise<Buffer> {
  const encoded = await module({ ...args, compression: kafkajs.CompressionTypes.None }).encode();
  return Buffer.from(encoded.buffer);
}

describe('Produce request encoding', () => {
  test('capture messages in a transaction: the same bytes as kafkajs writes', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW });
    const args = request();
    assert.deepStrictEqual(encodeProduceRequest(args, NOW), await kafkajsBytes(kafkajsV3, args));
    // A producer id assigned by the broker is the decimal string kafkajs decoded from InitProducerId.
    const assigned = request({ producerId: '9007199254740993' });
    assert.deepStrictEqual(encodeProduceRequest(assigned, NOW), await kafkajsBytes(kafkajsV3, assigned));
  });

  test('without a transaction, several topics and partitions, every message shape: the same bytes', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW });
    const args = request({
      transactionalId: undefined,
      producerId: Long.fromValue(-1),
      producerEpoch: 0,
      topicData: [
        {
          topic: 'one',
          partitions: [
            { partition: 0, messages: oddMessages },
            { partition: 3, firstSequence: 2_000_000_000, messages: captureMessages(300) },
          ],
        },
        { topic: 'twö', partitions: [{ partition: 1, messages: [] }] },
      ],
    });
    assert.deepStrictEqual(encodeProduceRequest(args, NOW), await kafkajsBytes(kafkajsV3, args));
  });

  test('once installed, kafkajs builds Produce v7 requests with it, and keeps its own for compression', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW });
    installProduceEncoding();
    installProduceEncoding();
    const args = request({
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: oddMessages }] }],
    });
    const build = produceDefinition.protocol({ version: 7 });
    const ours = await build({ ...args, compression: kafkajs.CompressionTypes.None }).request.encode();
    assert.deepStrictEqual(Buffer.from(ours.buffer), await kafkajsBytes(kafkajsV7, args));
    const gzip = { ...args, compression: kafkajs.CompressionTypes.GZIP };
    const compressed = await build(gzip).request.encode();
    const original = await kafkajsV7(gzip).encode();
    // gzip output carries no clock, so kafkajs's own path gives the same bytes twice.
    assert.deepStrictEqual(Buffer.from(compressed.buffer), Buffer.from(original.buffer));
  });

  test('messages with timestamps, or values of types kafkajs does not document, are left to kafkajs', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW });
    installProduceEncoding();
    const build = produceDefinition.protocol({ version: 7 });
    const withMessages = (messages: readonly ProduceMessage[]): ProduceRequest =>
      request({ topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }] });
    const none = kafkajs.CompressionTypes.None;
    const timed = withMessages([{ value: 'v', timestamp: String(NOW - 5) }, { value: 'w' }]);
    assert.equal(encodeProduceRequest(timed, NOW), null);
    const encoded = await build({ ...timed, compression: none }).request.encode();
    assert.deepStrictEqual(Buffer.from(encoded.buffer), await kafkajsBytes(kafkajsV7, timed));
    // kafkajs cannot size a number or an undefined header value: such sends fail as they did without us.
    const numeric = withMessages([{ value: 5 } as unknown as ProduceMessage]);
    const undefinedHeader = withMessages([{ value: 'v', headers: { h: undefined } }]);
    for (const args of [numeric, undefinedHeader]) {
      assert.equal(encodeProduceRequest(args, NOW), null);
      await assert.rejects(build({ ...args, compression: none }).request.encode(), TypeError);
    }
  });

  test('CRC-32C agrees with kafkajs on every length and offset', () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff));
    for (const [start, end] of [
      [0, 0],
      [0, 1],
      [3, 11],
      [5, 500],
      [0, 1000],
      [17, 999],
    ] as const) {
      assert.equal(crc32c(bytes, start, end), kafkajsCrc(bytes.subarray(start, end)), `${start}..${end}`);
    }
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });
});
