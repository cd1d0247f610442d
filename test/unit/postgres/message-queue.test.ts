/**
 * The hand-off between the replication socket and the stream: items come out in order, a take with nothing to
 * take gives up after its own timeout (also right after a take with a longer one, whose timer is shared), a full
 * queue tells its producer to stop and when to go on, and a closed queue drains and then reports its end or
 * failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageQueue } from '../../../connectors/postgres/replication/message-queue.ts';

test('items come out in the order they were put; a waiting take gets the next one put', async () => {
  const queue = new MessageQueue<number>(10);
  queue.put(1);
  queue.put(2);
  assert.equal(await queue.take(1_000), 1);
  assert.equal(await queue.take(1_000), 2);
  const waiting = queue.take(60_000);
  queue.put(3);
  assert.equal(await waiting, 3);
  queue.put(4);
  assert.equal(queue.poll(), 4, 'poll hands out a queued item at once');
  assert.equal(queue.poll(), undefined, 'and nothing when none is queued');
  queue.close();
});

test('a take with nothing to take returns undefined after its own timeout, also after a longer take', async () => {
  const queue = new MessageQueue<number>(10);
  // Answered at once by a put, this take leaves the shared timer armed for 60 s.
  const long = queue.take(60_000);
  queue.put(1);
  assert.equal(await long, 1);
  const started = Date.now();
  assert.equal(await queue.take(20), undefined);
  // Far below the 60 s the earlier take's timer was due at: the short take was not made to wait for it.
  assert.ok(Date.now() - started < 10_000, `the 20 ms take waited ${Date.now() - started} ms`);
  queue.close();
});

test('a full queue says so at the put that fills it, takes what comes after, and calls onRoom once half is taken', async () => {
  let rooms = 0;
  const queue = new MessageQueue<number>(4, () => rooms++);
  assert.deepEqual(
    [1, 2, 3].map((n) => queue.put(n)),
    [false, false, false],
    'puts with room say nothing',
  );
  assert.equal(queue.put(4), true, 'the put that fills the queue says it is full');
  // The rest of a socket read still arrives after the pause: kept, in order.
  assert.equal(queue.put(5), true);
  assert.equal(await queue.take(1_000), 1);
  assert.equal(await queue.take(1_000), 2);
  assert.equal(rooms, 0, 'three left of four: not yet room');
  assert.equal(await queue.take(1_000), 3);
  assert.equal(rooms, 1, 'half the capacity left: room');
  assert.equal(await queue.take(1_000), 4);
  assert.equal(await queue.take(1_000), 5);
  assert.equal(rooms, 1, 'told once per time it was full');
  queue.close();
  assert.equal(queue.put(6), false, 'a closed queue takes nothing more');
});

test('a closed queue hands out what it holds, then null, or the failure it was closed with', async () => {
  const ended = new MessageQueue<number>(10);
  ended.put(1);
  ended.close();
  assert.equal(await ended.take(1_000), 1);
  assert.equal(await ended.take(1_000), null);
  const failed = new MessageQueue<number>(10);
  const waiting = failed.take(60_000);
  failed.close(new Error('stream lost'));
  await assert.rejects(waiting, /stream lost/);
});
