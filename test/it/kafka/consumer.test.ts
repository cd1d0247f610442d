/**
 * ChangeConsumer against the local Kafka: offsets are committed only after the handler resolved, so a handler
 * that throws gets the same events again on the next run, and a batch that was handled is never delivered twice.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeConsumer, type ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';

const prefix = uniqueName('cdccons');
const connector = uniqueName('gen');
const total = 3_000;
let topic = '';

before(async () => {
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, maxEvents: 500 });
  topic = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, total, 5), new AbortController().signal);
});

function consumer(groupId: string): ChangeConsumer {
  return new ChangeConsumer({ brokers: stack.kafkaBrokers, groupId, topics: [topic], prefix });
}

/** Runs a consumer until `done` says so (then aborts) or the run fails; returns the failure, if any. */
async function consumeUntil(
  group: string,
  handler: (batch: readonly ConsumedEvent[]) => Promise<void>,
  done: () => boolean,
): Promise<unknown> {
  const stop = new AbortController();
  let failure: unknown = null;
  let ended = false;
  const running = consumer(group)
    .run(handler, stop.signal)
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => {
      ended = true;
    });
  try {
    await waitFor('the consumer to finish its part', () => done() || ended, { timeoutMs: 60_000 });
  } finally {
    stop.abort();
    await running;
  }
  return failure;
}

const ordinals = (batch: readonly ConsumedEvent[]): number[] =>
  batch.map((consumed) => ordinalOf(consumed.event.source.position, 5));

describe('ChangeConsumer', () => {
  test('a handler that throws fails the run and its events are delivered again; handled events are never delivered twice', async () => {
    const group = uniqueName('apply');

    // Run 1: the handler fails on the first batch.
    let failedWith: number[] = [];
    const failure = await consumeUntil(
      group,
      (batch) => {
        failedWith = ordinals(batch);
        return Promise.reject(new Error('replica unavailable'));
      },
      () => false,
    );
    assert.match(String(failure), /replica unavailable/);
    assert.equal(failedWith[0], 0);

    // Run 2: the same events come again, from the first one, then everything once and in order.
    const seen: number[] = [];
    const second = await consumeUntil(
      group,
      (batch) => {
        seen.push(...ordinals(batch));
        return Promise.resolve();
      },
      () => seen.length >= total,
    );
    assert.equal(second, null);
    assert.deepStrictEqual(seen.slice(0, failedWith.length), failedWith, 'the failed batch was redelivered');
    assert.deepStrictEqual(
      seen,
      Array.from({ length: total }, (_, n) => n),
      'every event once, in order',
    );

    // Run 3: handled batches were committed: only events published since then arrive.
    const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
    await publisher.run(new GeneratedSource(connector, total + 10, 5), new AbortController().signal);
    const third: number[] = [];
    await consumeUntil(
      group,
      (batch) => {
        third.push(...ordinals(batch));
        return Promise.resolve();
      },
      () => third.length >= 10,
    );
    assert.deepStrictEqual(
      third,
      Array.from({ length: 10 }, (_, n) => total + n),
    );
  });

  test('events carry their topic, partition, offset and raw bytes', async () => {
    const received: ConsumedEvent[] = [];
    await consumeUntil(
      uniqueName('peek'),
      (batch) => {
        received.push(...batch);
        return Promise.resolve();
      },
      () => received.length >= 10,
    );
    const first = received[0]!;
    assert.equal(first.topic, topic);
    assert.equal(first.partition, 0);
    assert.match(first.offset, /^\d+$/);
    assert.equal(first.value[0], 0xc3);
    assert.ok(first.key !== null && first.key[0] === 0xc3, 'key is the Avro-encoded primary key');
    assert.deepStrictEqual(first.event, new GeneratedSource(connector, total, 5).event(0));
  });
});
