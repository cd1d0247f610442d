/**
 * Records deleted from a changelog before a consumer group read them (its retention ran out while the worker
 * was stopped) stop that group's consumer with CHANGELOG_GAP, where kafkajs would start again from the earliest
 * record left and the replica would silently miss the deleted changes. A group that had read everything deleted
 * goes on as before. The deletion is Kafka's own (DeleteRecords, what retention does), on the local broker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { CdcError } from '../../../common/errors.ts';
import { ChangeConsumer, type ConsumedEvent, type HandlerResult } from '../../../services/kafka/consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';

const prefix = uniqueName('cdcgap');
const connector = uniqueName('gen');
const total = 3_000;
const PER_TX = 5;
let topic = '';
const admin = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();

before(async () => {
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, maxEvents: 500 });
  topic = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, total, PER_TX), new AbortController().signal);
  await admin.connect();
});
after(() => admin.disconnect());

const ordinals = (batch: readonly ConsumedEvent[]): number[] =>
  batch.map((consumed) => ordinalOf(consumed.event.source.position, PER_TX));

/**
 * Consumes with `group` until it handled `limit` events in all (handing the rest of a batch back, so exactly those
 * are committed) or the run fails; returns the ordinals handled and the failure, if any.
 */
async function consume(group: string, limit: number): Promise<{ seen: number[]; failure: unknown }> {
  const seen: number[] = [];
  const stop = new AbortController();
  let failure: unknown = null;
  let ended = false;
  const handler = (batch: readonly ConsumedEvent[]): Promise<HandlerResult> => {
    const taken = ordinals(batch).slice(0, limit - seen.length);
    seen.push(...taken);
    return Promise.resolve(taken.length < batch.length ? { redeliverFrom: taken.length } : undefined);
  };
  const running = new ChangeConsumer({ brokers: stack.kafkaBrokers, groupId: group, topics: [topic], prefix })
    .run(handler, stop.signal)
    .catch((error: unknown) => (failure = error))
    .finally(() => (ended = true));
  try {
    await waitFor(`group ${group} to handle ${limit} events`, () => seen.length >= limit || ended, {
      timeoutMs: 60_000,
    });
  } finally {
    stop.abort();
    await running;
  }
  return { seen, failure };
}

async function committedOffset(group: string): Promise<bigint> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return BigInt(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
}

test('records deleted before a group read them stop it with CHANGELOG_GAP; a group that read them goes on', async () => {
  const behind = uniqueName('behind');
  const ahead = uniqueName('ahead');
  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

  assert.deepEqual((await consume(behind, 1_000)).seen, range(0, 1_000));
  assert.deepEqual((await consume(ahead, 2_000)).seen, range(0, 2_000));
  const behindAt = await committedOffset(behind);
  const aheadAt = await committedOffset(ahead);
  assert.ok(behindAt > 0n && aheadAt > behindAt, `committed offsets ${behindAt} and ${aheadAt}`);

  // What retention does to a log segment, for the records before the ahead group's offset.
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(aheadAt) }] });

  // The group that read everything deleted sees no gap: the rest comes once, in order.
  const rest = await consume(ahead, total - 2_000);
  assert.equal(rest.failure, null);
  assert.deepEqual(rest.seen, range(2_000, total));

  // The group behind lost records 1,000 … 1,999's offsets: it stops, names them, and applies nothing after them.
  const stopped = await consume(behind, total - 1_000);
  assert.deepEqual(stopped.seen, [], 'nothing after the gap was handed to the handler');
  assert.ok(stopped.failure instanceof CdcError, `failed with ${String(stopped.failure)}`);
  assert.equal(stopped.failure.code, 'CHANGELOG_GAP');
  assert.match(
    stopped.failure.message,
    new RegExp(`${topic}/0: records at offsets ${behindAt} to ${aheadAt - 1n}`),
  );
  assert.match(stopped.failure.message, /snapshot/);
  // Nothing was committed past the gap: a second start stops the same way.
  assert.equal(await committedOffset(behind), behindAt);
});
