/**
 * DeadLetterPublisher: the original bytes and the why/where headers land in `<prefix>.<connector>.dlq`, and an
 * event as large as kafka.maxEventBytes lets the changelog take fits there too.
 */
import kafkajs from 'kafkajs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent } from '../../../schemas/avro/codec.ts';
import { CdcError } from '../../../common/errors.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import { DeadLetterPublisher } from '../../../services/kafka/dead-letter.ts';
import { DeadLetterTopic, type DeadLetterRecord } from '../../../services/kafka/dlq-reader.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource } from './generator.ts';

describe('DeadLetterPublisher', () => {
  test('writes the original key and value with reason, error code, source and position headers', async () => {
    const prefix = uniqueName('cdcdlq');
    const connector = uniqueName('gen');
    const event = new GeneratedSource(connector, 10).event(3);
    const encoded = encodeEvent(event);
    const dlq = new DeadLetterPublisher({ brokers: stack.kafkaBrokers, prefix, connector });
    try {
      await dlq.publish(
        {
          event,
          topic: `${prefix}.${connector}.changes`,
          partition: 0,
          offset: '41',
          key: encoded.key,
          value: encoded.value,
        },
        'duplicate key on target',
        new CdcError('APPLY_FAILED', 'duplicate key value violates unique constraint "items_pkey"'),
      );
    } finally {
      await dlq.close();
    }

    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-dlq' });
    const reader = kafka.consumer({ groupId: uniqueName('dlqread') });
    const received: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[] = [];
    await reader.connect();
    try {
      await reader.subscribe({ topics: [dlq.topic], fromBeginning: true });
      await reader.run({
        eachMessage: ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          received.push({ key: message.key, value: message.value, headers });
          return Promise.resolve();
        },
      });
      await waitFor('the dead letter', () => received.length > 0);
    } finally {
      await reader.disconnect();
    }
    const [letter] = received;
    assert.equal(dlq.topic, `${prefix}.${connector}.dlq`);
    assert.deepStrictEqual(letter!.value, encoded.value);
    assert.deepStrictEqual(letter!.key, encoded.key);
    assert.equal(letter!.headers['cdc.dlq.reason'], 'duplicate key on target');
    assert.equal(letter!.headers['cdc.dlq.error.code'], 'APPLY_FAILED');
    assert.match(letter!.headers['cdc.dlq.error.message'] ?? '', /items_pkey/);
    assert.equal(letter!.headers['cdc.dlq.source.offset'], '41');
    assert.equal(letter!.headers['cdc.position'], 'pg:0/1000#3');
    assert.equal(letter!.headers['cdc.table'], 'public.items');
  });

  test('an event larger than the broker default but within kafka.maxEventBytes is dead-lettered, also into a topic created before', async () => {
    const prefix = uniqueName('cdcdlqbig');
    const maxEventBytes = 3 * 1024 * 1024;
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-dlq-big' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // One connector's topic is new; the other's exists already with the broker's default limit (1 MiB).
      const fresh = uniqueName('fresh');
      const existing = uniqueName('old');
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: `${prefix}.${existing}.dlq` }] });
      for (const connector of [fresh, existing]) {
        const event = new GeneratedSource(connector, 10).event(1);
        const encoded = encodeEvent(event);
        // 2 MiB: above the broker's default message.max.bytes, below maxEventBytes.
        const value = Buffer.concat([encoded.value, Buffer.alloc(2 * 1024 * 1024, 7)]);
        const dlq = new DeadLetterPublisher({
          brokers: stack.kafkaBrokers,
          prefix,
          connector,
          maxEventBytes,
        });
        try {
          await dlq.publish(
            {
              event,
              topic: `${prefix}.${connector}.changes`,
              partition: 0,
              offset: '0',
              key: encoded.key,
              value,
            },
            'target refused it',
            new CdcError('APPLY_FAILED', `value ${'x'.repeat(100_000)} is too long`),
          );
        } finally {
          await dlq.close();
        }
        const described = await admin.describeConfigs({
          resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: dlq.topic }],
          includeSynonyms: false,
        });
        const limit = described.resources[0]?.configEntries.find(
          (entry) => entry.configName === 'max.message.bytes',
        );
        assert.ok(Number(limit?.configValue) > maxEventBytes, `${dlq.topic} takes events of maxEventBytes`);
        // Read back as `cdc dlq list` reads it: whole, with its (capped) reason.
        const letters: DeadLetterRecord[] = [];
        const reader = new DeadLetterTopic({ brokers: stack.kafkaBrokers, prefix, source: connector });
        await reader.read(0n, (await reader.range()).high, (records) => {
          letters.push(...records);
          return Promise.resolve();
        });
        assert.equal(letters.length, 1, `the large dead letter is in ${dlq.topic}`);
        assert.deepStrictEqual(Buffer.from(letters[0]?.value ?? []), value);
        assert.equal(letters[0]?.reason, 'target refused it');
      }
    } finally {
      await admin.disconnect();
    }
  });
});
