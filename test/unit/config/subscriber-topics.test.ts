import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { subscriberPrefix } from '../../../services/config/subscriber-topics.ts';

const withTopics = (subscriberTopics: unknown): string =>
  JSON.stringify({
    name: 'p',
    kafka: { brokers: ['127.0.0.1:59092'], topicPrefix: 'cdc' },
    sources: [{ name: 'shop', kind: 'postgres', url: 'postgres://u@h/db', subscriberTopics }],
  });

test("subscriber topics default to Debezium's: per-table JSON with schemas and tombstones, one partition, no transaction topic", () => {
  const source = parseConfig(withTopics({}), 'json').sources[0]!;
  assert.deepStrictEqual(source.subscriberTopics, {
    layout: 'per-table',
    format: 'debezium-json',
    schemas: true,
    partitions: 1,
    tombstones: true,
    transactionTopic: false,
  });
  assert.equal(subscriberPrefix(source.subscriberTopics, 'cdc', 'shop'), 'cdc.shop');
  assert.equal(parseConfig(withTopics(undefined), 'json').sources[0]!.subscriberTopics, undefined);
});

test('invalid subscriber topic settings name the field and why', () => {
  const cases: [unknown, RegExp][] = [
    [
      { format: 'debezium-avro' },
      /sources\[0\]\.subscriberTopics\.format: "debezium-avro" needs kafka\.schemaRegistry/,
    ],
    [{ format: 'avro' }, /sources\[0\]\.subscriberTopics\.format: must be "debezium-json".*"debezium-avro"/],
    [{ partitions: 0 }, /sources\[0\]\.subscriberTopics\.partitions: must be a whole number of partitions/],
    [{ layout: 'single' }, /sources\[0\]\.subscriberTopics\.layout: must be "per-table"/],
    [{ prefix: 'a b' }, /sources\[0\]\.subscriberTopics\.prefix: must use only letters/],
    [{ tombstone: true }, /sources\[0\]\.subscriberTopics.*tombstone/],
  ];
  for (const [topics, expected] of cases)
    assert.throws(
      () => parseConfig(withTopics(topics), 'json'),
      (error: Error) => expected.test(error.message) || assert.fail(error.message),
    );
});

test('debezium-avro is accepted with a schema registry', () => {
  const config = JSON.parse(withTopics({ format: 'debezium-avro' })) as { kafka: Record<string, unknown> };
  config.kafka.schemaRegistry = { url: 'http://127.0.0.1:58081/apis/ccompat/v7' };
  const source = parseConfig(JSON.stringify(config), 'json').sources[0]!;
  assert.equal(source.subscriberTopics?.format, 'debezium-avro');
});
