/**
 * A changelog record no event can be decoded from (corrupt bytes, a schema the schema topic does not have)
 * goes to the dead-letter topic with its reason and blocks nothing else; without a handler for it, the
 * consumer stops at it, naming where it is.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, producerConfig } from '../../../services/kafka/client.ts';
import { ChangeConsumer, type ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { DeadLetterPublisher } from '../../../services/kafka/dead-letter.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';

const prefix = uniqueName('cdcbad');
const connector = uniqueName('gen');
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-undecodable' });
let changelog = '';
let deadLetterTopic = '';
const groups: string[] = [];
/** Offsets of the two bad records: corrupt bytes, then an unknown schema. */
const badOffsets: string[] = [];

before(async () => {
  const first = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
  changelog = first.topics.changelog;
  deadLetterTopic = first.topics.deadLetter;
  await first.run(new GeneratedSource(connector, 20, 5), new AbortController().signal);
  const producer = kafka.producer(producerConfig({ idempotent: true, maxInFlightRequests: 1 }));
  await producer.connect();
  try {
    const unknownSchema = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0xab), Buffer.from([2])]);
    const written = await producer.send({
      topic: changelog,
      acks: -1,
      messages: [
        { key: 'corrupt', value: Buffer.from('not avro at all'), partition: 0 },
        { key: 'unknown', value: unknownSchema, partition: 0 },
      ],
    });
    const base = BigInt(written[0]?.baseOffset ?? '0');
    badOffsets.push(base.toString(), (base + 1n).toString());
  } finally {
    await producer.disconnect();
  }
  await new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector }).run(
    new GeneratedSource(connector, 40, 5),
    new AbortController().signal,
  );
});

after(async () => {
  await deleteKafkaState([changelog, deadLetterTopic], [`${prefix}.capture.${connector}`, ...groups]);
});

function consumer(options: Partial<ConstructorParameters<typeof ChangeConsumer>[0]> = {}): ChangeConsumer {
  const groupId = uniqueName('apply');
  groups.push(groupId);
  return new ChangeConsumer({
    brokers: stack.kafkaBrokers,
    groupId,
    topics: [changelog],
    prefix,
    ...options,
  });
}

interface Letter {
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

async function readDeadLetters(count: number): Promise<Letter[]> {
  const reader = kafka.consumer({ groupId: uniqueName('dlqread') });
  const letters: Letter[] = [];
  await reader.connect();
  try {
    await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        letters.push({ value: message.value, headers });
        return Promise.resolve();
      },
    });
    await waitFor(`${count} dead letters`, () => letters.length >= count);
  } finally {
    await reader.disconnect();
  }
  return letters;
}

describe('undecodable changelog records', () => {
  test('go to the dead-letter topic with DECODE_FAILED / SCHEMA_UNKNOWN; every event around them is handled once, in order', async () => {
    const deadLetters = new DeadLetterPublisher({ brokers: stack.kafkaBrokers, prefix, connector });
    const seen: number[] = [];
    const setAside: string[] = [];
    const stop = new AbortController();
    const running = consumer({
      onUndecodable: async (record, error) => {
        setAside.push(`${record.offset}:${error.code}`);
        await deadLetters.publishUndecodable(record, error);
      },
    }).run((batch: readonly ConsumedEvent[]) => {
      seen.push(...batch.map((consumed) => ordinalOf(consumed.event.source.position, 5)));
      return Promise.resolve();
    }, stop.signal);
    try {
      await waitFor('all 40 events', () => seen.length >= 40);
    } finally {
      stop.abort();
      await running;
      await deadLetters.close();
    }
    assert.deepStrictEqual(
      seen,
      Array.from({ length: 40 }, (_, n) => n),
    );
    assert.deepStrictEqual(setAside, [`${badOffsets[0]}:DECODE_FAILED`, `${badOffsets[1]}:SCHEMA_UNKNOWN`]);

    const letters = await readDeadLetters(2);
    assert.equal(letters.length, 2);
    const [corrupt, unknown] = letters;
    assert.equal(corrupt!.value?.toString(), 'not avro at all', 'the original bytes, unchanged');
    assert.equal(corrupt!.headers['cdc.dlq.error.code'], 'DECODE_FAILED');
    assert.match(
      corrupt!.headers['cdc.dlq.reason'] ?? '',
      /not an Avro single-object or Confluent wire-format message/,
    );
    assert.equal(corrupt!.headers['cdc.dlq.source.offset'], badOffsets[0]);
    assert.equal(unknown!.headers['cdc.dlq.error.code'], 'SCHEMA_UNKNOWN');
    assert.match(unknown!.headers['cdc.dlq.reason'] ?? '', /schema abababababababab .* is not in/);
    assert.equal(unknown!.headers['cdc.dlq.source.topic'], changelog);
  });

  test('without a handler for them, the consumer stops at the first one and says where it is', async () => {
    const seen: number[] = [];
    await assert.rejects(
      consumer().run((batch) => {
        seen.push(...batch.map((consumed) => ordinalOf(consumed.event.source.position, 5)));
        return Promise.resolve();
      }, new AbortController().signal),
      (error: unknown) =>
        error instanceof Error &&
        'code' in error &&
        error.code === 'DECODE_FAILED' &&
        error.message.includes(`${changelog}/0@${badOffsets[0]}`) &&
        error.message.includes('not an Avro single-object or Confluent wire-format message'),
    );
    assert.ok(!seen.includes(20), 'nothing after the bad record was handled');
  });
});
