/**
 * A changelog read from a mirror (MirrorMaker 2 copies each topic on its own) can hand an event over before the
 * mirror copied its schema. A consumer given a schema grace waits for the schema instead of setting the event
 * aside as SCHEMA_UNKNOWN; without one, the event is set aside at once (a local changelog's schemas are committed
 * with or before its events, so a missing one never comes). The mirror here is the test itself: the changelog
 * is read where it was written, with a schema topic of another prefix that the test fills once the consumer
 * waits.
 */
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createKafka, producerConfig } from '../../../services/kafka/client.ts';
import { ChangeConsumer, type ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { schemaTopic } from '../../../services/kafka/topics.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { readRaw } from '../../support/raw-topic.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';

const prefix = uniqueName('cdcmirror');
const connector = uniqueName('gen');
const groups: string[] = [];
const mirrorPrefixes: string[] = [];
let changelog = '';

before(async () => {
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
  changelog = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, 10, 5), new AbortController().signal);
});

after(async () => {
  await deleteKafkaState(
    [changelog, schemaTopic(prefix), ...mirrorPrefixes.map(schemaTopic)],
    [`${prefix}.capture.${connector}`, ...groups],
  );
});

/** Copies every schema record of the publisher's schema topic into `mirrorPrefix`'s, as a mirror would. */
async function copySchemas(mirrorPrefix: string): Promise<void> {
  const records = await readRaw(schemaTopic(prefix), (messages) => messages.length > 0);
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-mirror-copy' });
  const producer = kafka.producer(producerConfig({ idempotent: true, maxInFlightRequests: 1 }));
  await producer.connect();
  try {
    await producer.send({
      topic: schemaTopic(mirrorPrefix),
      acks: -1,
      messages: records.map((record) => ({ key: record.key, value: record.value, partition: 0 })),
    });
  } finally {
    await producer.disconnect();
  }
}

function consumeFromMirror(schemaGraceMs: number) {
  const mirrorPrefix = uniqueName('cdcmirrored');
  mirrorPrefixes.push(mirrorPrefix);
  const groupId = uniqueName('apply');
  groups.push(groupId);
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean))
        logged.push((JSON.parse(text) as { msg: string }).msg);
      done();
    },
  });
  const seen: number[] = [];
  const setAside: string[] = [];
  const stop = new AbortController();
  const running = new ChangeConsumer({
    brokers: stack.kafkaBrokers,
    groupId,
    topics: [changelog],
    prefix: mirrorPrefix,
    schemaGraceMs,
    logger: pino({ level: 'info' }, sink),
    onUndecodable: (record, error) => {
      setAside.push(`${record.offset}:${error.code}`);
      return Promise.resolve();
    },
  }).run((batch: readonly ConsumedEvent[]) => {
    seen.push(...batch.map((consumed) => ordinalOf(consumed.event.source.position, 5)));
    return Promise.resolve();
  }, stop.signal);
  return { mirrorPrefix, logged, seen, setAside, stop, running };
}

test('with a schema grace, an event whose schema the mirror has not copied yet waits for it, and nothing is set aside', async () => {
  const reader = consumeFromMirror(60_000);
  try {
    await waitFor('the consumer to wait for the schema', () =>
      reader.logged.some((msg) => msg.includes('is not in the schema topic yet')),
    );
    assert.deepEqual(reader.seen, [], 'nothing is handed over before its schema is there');
    await copySchemas(reader.mirrorPrefix);
    await waitFor('all 10 events', () => reader.seen.length >= 10, { timeoutMs: 60_000 });
  } finally {
    reader.stop.abort();
    await reader.running;
  }
  assert.deepEqual(
    reader.seen,
    Array.from({ length: 10 }, (_, n) => n),
  );
  assert.deepEqual(reader.setAside, []);
});

test('without one, the same event is set aside as SCHEMA_UNKNOWN', async () => {
  const reader = consumeFromMirror(0);
  try {
    await waitFor('the events to be set aside', () => reader.setAside.length >= 10, { timeoutMs: 60_000 });
  } finally {
    reader.stop.abort();
    await reader.running;
  }
  assert.deepEqual(reader.seen, []);
  assert.ok(
    reader.setAside.every((entry) => entry.endsWith(':SCHEMA_UNKNOWN')),
    reader.setAside.join(' '),
  );
});
