/**
 * A consumer closed while it still starts stays closed. kafkajs's disconnect() does not stop a start under way:
 * before, a consumer closed right after it found its coordinator (or while it joined) connected again after
 * the close returned, joined its group and fetched, and its sockets kept a stopping process alive (a JoinGroup
 * held by the coordinator for the members of a killed process took longer than the stop may). Each case closes
 * the consumer the moment the broker answered one step of its start, then waits for kafkajs to give that start
 * up, and checks that nothing was sent and no connection is left.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, openKafkaSockets } from '../../../services/kafka/client.ts';
import { createConsumer } from '../../../services/kafka/closable-consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource } from './generator.ts';

const prefix = uniqueName('cdcclose');
const connector = uniqueName('gen');
let topic = '';

before(async () => {
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, maxEvents: 100 });
  topic = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, 100, 5), new AbortController().signal);
});

/** Starts a consumer, closes it once the broker answered the first `step` request, and reports what followed. */
async function closeAt(step: string) {
  const clientId = uniqueName('closing');
  const closable = createConsumer(createKafka({ brokers: stack.kafkaBrokers, clientId }), {
    groupId: uniqueName('group'),
    readUncommitted: false,
  });
  const { consumer } = closable;
  const after = { requests: [] as string[], joined: false, gaveUp: false, batches: 0 };
  // An object: assigned in a callback, which the compiler would otherwise not see.
  const closing: { done: Promise<void> | null } = { done: null };
  consumer.on(consumer.events.REQUEST, ({ payload }) => {
    if (closing.done !== null) after.requests.push(payload.apiName);
    // Emitted as the answer arrives, before kafkajs goes on with the next step.
    else if (payload.apiName === step) closing.done = closable.close();
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (closing.done !== null) after.joined = true;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (closing.done !== null && !payload.restart) after.gaveUp = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const started = consumer
    .run({
      eachBatch: () => {
        after.batches++;
        return Promise.resolve();
      },
    })
    .catch(() => undefined);
  await waitFor(`the consumer to be closed after its ${step} request`, () => closing.done !== null, {
    timeoutMs: 30_000,
  });
  await closing.done;
  // kafkajs retries the step it was at with its backoff, then crashes for good (no restart once closed).
  await waitFor(`kafkajs to give the start up after the ${step} answer`, () => after.gaveUp || after.joined, {
    timeoutMs: 60_000,
  });
  await started;
  return { after, sockets: openKafkaSockets().filter((socket) => socket.clientId === clientId).length };
}

describe('a consumer closed while it starts', () => {
  for (const step of ['GroupCoordinator', 'JoinGroup']) {
    test(`closed on the answer to ${step}: it neither connects, nor joins, nor fetches afterwards`, async () => {
      const { after, sockets } = await closeAt(step);
      assert.deepEqual(after.requests, [], `requests sent after the close: ${after.requests.join(', ')}`);
      assert.equal(after.joined, false, 'the consumer joined its group after it was closed');
      assert.equal(after.batches, 0, 'the consumer handled batches after it was closed');
      assert.equal(sockets, 0, 'broker connections left open after the close');
    });
  }

  // The answer to SyncGroup completes the join (kafkajs reports it right after): what must not follow is a fetch.
  test('closed on the answer to SyncGroup: it neither fetches nor heartbeats afterwards', async () => {
    const { after, sockets } = await closeAt('SyncGroup');
    assert.deepEqual(after.requests, [], `requests sent after the close: ${after.requests.join(', ')}`);
    assert.equal(after.batches, 0, 'the consumer handled batches after it was closed');
    assert.equal(sockets, 0, 'broker connections left open after the close');
  });
});
