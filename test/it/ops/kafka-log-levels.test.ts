/**
 * kafkajs logs at ERROR level protocol errors it then retries by itself. A transactional producer that begins
 * its next transaction right after a commit meets CONCURRENT_TRANSACTIONS now and then (the broker still
 * writes the commit markers), for real: kafkajs waits and retries, the transaction succeeds, and our log
 * must show it at debug level, not as an error.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createKafka, producerConfig } from '../../../services/kafka/client.ts';
import { kafkaErrorLineLevel } from '../../../services/kafka/log-levels.ts';
import { stack, uniqueName } from '../../support/stack.ts';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly error?: string;
}

const CONCURRENT = 'another concurrent operation on the same transaction was ongoing';

test('a CONCURRENT_TRANSACTIONS answer kafkajs retries is logged at debug, never as an error', async () => {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Line);
      done();
    },
  });
  const kafka = createKafka({
    brokers: stack.kafkaBrokers,
    clientId: 'log-levels',
    logger: pino({ level: 'debug' }, sink),
  });
  const topic = uniqueName('log-levels');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer(
    producerConfig({ transactionalId: topic, idempotent: true, maxInFlightRequests: 1 }),
  );
  try {
    await admin.createTopics({ topics: [{ topic }] });
    await producer.connect();
    // Back-to-back transactions until the broker answered CONCURRENT_TRANSACTIONS at least once.
    const deadline = Date.now() + 60_000;
    let transactions = 0;
    while (!lines.some((line) => line.error?.includes(CONCURRENT) === true) && Date.now() < deadline) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ value: String(transactions) }] });
      await transaction.commit();
      transactions++;
    }
    const concurrent = lines.filter((line) => line.error?.includes(CONCURRENT) === true);
    assert.ok(concurrent.length > 0, `no CONCURRENT_TRANSACTIONS answer in ${transactions} transactions`);
    assert.deepEqual(
      concurrent.map((line) => line.level),
      concurrent.map(() => 20),
    );
    assert.deepEqual(
      lines.filter((line) => line.level >= 50),
      [],
    );
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

test('kafkajs ERROR lines: settling cluster states are debug, other retriable errors warn, the rest error', () => {
  // kafkajs's own texts (kafkajs/src/protocol/error.js), as its Connection and producer log them.
  const response = (error: string) => kafkaErrorLineLevel('Response Metadata(key: 3, version: 6)', { error });
  assert.equal(response('This server does not host this topic-partition'), 'debug');
  assert.equal(
    response('There is no leader for this topic-partition as we are in the middle of a leadership election'),
    'debug',
  );
  assert.equal(response('This is not the correct coordinator for this group'), 'debug');
  assert.equal(response('The group coordinator is not available'), 'debug');
  assert.equal(
    kafkaErrorLineLevel(
      'Failed to send messages: This server is not the leader for that topic-partition',
      {},
    ),
    'debug',
  );
  assert.equal(response('The request timed out'), 'warn');
  assert.equal(response('The coordinator is not aware of this member'), 'warn', 'a consumer rejoins');
  assert.equal(response('Specified group generation id is not valid'), 'warn', 'a consumer rejoins');
  assert.equal(response('Not authorized to access topics: [Topic authorization failed]'), 'error');
  assert.equal(kafkaErrorLineLevel('Crash: KafkaJSNonRetriableError: something broke', {}), 'error');
});
