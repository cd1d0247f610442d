/** `kafka.topicCreation`: how the service's topics are created, checked before any topic is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { clusterOf } from '../../../services/kafka/security.ts';

const base = {
  name: 'p',
  kafka: { brokers: ['127.0.0.1:59092'] },
  sources: [{ name: 'src', kind: 'postgres', url: 'postgres://u@h/db' }],
};

function parse(topicCreation: unknown) {
  return parseConfig(JSON.stringify({ ...base, kafka: { ...base.kafka, topicCreation } }), 'json');
}

test('the settings reach every Kafka client made from the configuration', () => {
  const settings = { replicationFactor: 3, minInsyncReplicas: 2, retentionMs: -1, retentionBytes: 1_000_000 };
  assert.deepStrictEqual(clusterOf(parse(settings).kafka).topicCreation, settings);
  assert.equal(clusterOf(parseConfig(JSON.stringify(base), 'json').kafka).topicCreation, undefined);
});

test('impossible settings are refused naming the field and why', () => {
  const cases: [unknown, RegExp][] = [
    [
      { replicationFactor: 2, minInsyncReplicas: 3 },
      /kafka\.topicCreation\.minInsyncReplicas: must be at most replicationFactor \(2\)/,
    ],
    [{ replicationFactor: 0 }, /kafka\.topicCreation\.replicationFactor: .*at least 1/],
    [{ retentionMs: 0 }, /kafka\.topicCreation\.retentionMs: must not be 0/],
    [{ retentionBytes: -2 }, /kafka\.topicCreation\.retentionBytes: must be a whole number of bytes, or -1/],
    [{ retentionMs: 1.5 }, /kafka\.topicCreation\.retentionMs: must be a whole number of milliseconds/],
    [{ replicas: 3 }, /kafka\.topicCreation/],
  ];
  for (const [settings, message] of cases)
    assert.throws(
      () => parse(settings),
      (error: Error) => message.test(error.message),
      JSON.stringify(settings),
    );
});
