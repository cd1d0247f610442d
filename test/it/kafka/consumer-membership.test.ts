/**
 * ChangeConsumer keeps its group membership while a handler works longer than the session (6 s, the failure
 * scenarios' value), and a member that joins meanwhile gets its share: the busy member is asked to yield,
 * hands the rest of its batch back, and the group goes on. The handlers' slowness is real work on PostgreSQL
 * (pg_sleep), standing in for a slow replica.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeConsumer, type BatchHandler, type ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { adminQuery } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';

const SESSION_MS = 6_000;
const prefix = uniqueName('cdcmember');
const connector = uniqueName('gen');
const total = 2_000;
let topic = '';

before(async () => {
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, maxEvents: 500 });
  topic = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, total, 5), new AbortController().signal);
});

const ordinals = (batch: readonly ConsumedEvent[]): number[] =>
  batch.map((consumed) => ordinalOf(consumed.event.source.position, 5));

/** A consumer of the group running `handler` until stopped; its failure, if any, is kept. */
function start(group: string, handler: BatchHandler) {
  const stop = new AbortController();
  const member = {
    failure: null as unknown,
    ended: false,
    stop: () => stop.abort(),
    done: Promise.resolve(),
  };
  member.done = new ChangeConsumer({
    brokers: stack.kafkaBrokers,
    groupId: group,
    topics: [topic],
    prefix,
    sessionTimeoutMs: SESSION_MS,
  })
    .run(handler, stop.signal)
    .catch((error: unknown) => {
      member.failure = error;
    })
    .finally(() => {
      member.ended = true;
    });
  return member;
}

describe('ChangeConsumer group membership', () => {
  test('a handler busy for longer than the session keeps the membership: its batch is committed, nothing comes twice', async () => {
    const seen: number[] = [];
    let slow = true;
    const member = start(uniqueName('apply'), async (batch) => {
      // The first batch takes twice the session on the database.
      if (slow) await adminQuery(`SELECT pg_sleep(${(2 * SESSION_MS) / 1000})`);
      slow = false;
      seen.push(...ordinals(batch));
    });
    try {
      await waitFor('every event to be handled', () => seen.length >= total || member.ended, {
        timeoutMs: 120_000,
      });
    } finally {
      member.stop();
      await member.done;
    }
    assert.equal(member.failure, null, 'the run did not fail (its offsets were committed)');
    assert.deepStrictEqual(
      seen,
      Array.from({ length: total }, (_, n) => n),
      'every event once, in order',
    );
  });

  test('a member joining while another works on a long batch: the busy one yields at once and the group goes on', async (t) => {
    const group = uniqueName('apply');
    const handled: number[] = [];
    let secondJoined = false;
    // How long into its batch the busy member was asked to yield, the first time after the second joined.
    let yieldedAfterMs: number | null = null;
    // Works through its batch 100 events at a time, 1 s of database time each, yielding when asked to.
    const busy = start(group, async (batch, control) => {
      const started = Date.now();
      for (let done = 0; done < batch.length; done += 100) {
        if (done > 0 && control?.shouldYield()) {
          if (secondJoined) yieldedAfterMs ??= Date.now() - started;
          return { redeliverFrom: done };
        }
        await adminQuery('SELECT pg_sleep(1)');
        handled.push(...ordinals(batch.slice(done, done + 100)));
      }
      return undefined;
    });
    const quick: BatchHandler = (batch) => {
      handled.push(...ordinals(batch));
      return Promise.resolve();
    };
    let other: ReturnType<typeof start> | null = null;
    try {
      await waitFor('the busy member to be inside its first batch', () => handled.length > 0 || busy.ended, {
        timeoutMs: 60_000,
      });
      other = start(group, quick);
      secondJoined = true;
      await waitFor(
        'every event to be handled',
        () => new Set(handled).size >= total || busy.ended || other?.ended,
        { timeoutMs: 180_000 },
      );
    } finally {
      busy.stop();
      other?.stop();
      await Promise.all([busy.done, other?.done]);
    }
    assert.equal(busy.failure, null, 'the busy member did not fail');
    assert.equal(other?.failure, null, 'the joining member did not fail');
    t.diagnostic(`asked to yield after ${yieldedAfterMs} ms of its batch`);
    // Its own time budget for a batch is one session: yielding earlier is the rebalance's doing.
    assert.ok(
      yieldedAfterMs !== null && yieldedAfterMs < SESSION_MS,
      `the busy member handed the rest of its batch back once the group rebalanced (after ${yieldedAfterMs} ms of its batch)`,
    );
    assert.equal(new Set(handled).size, total, 'every event handled');
  });
});
