/**
 * The hand-off between the replication socket and the stream: items come out in order, a take with nothing to
 * take gives up after its own timeout (also right after a take with a longer one, whose timer is shared), and a
 * closed queue drains and then reports its end or failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageQueue } from '../../../connectors/postgres/replication/message-queue.ts';

test('items come out in the order they were put; a waiting take gets the next one put', async () => {
  const queue = new MessageQueue<number>(10);
  await queue.put(1);
  await queue.put(2);
  assert.equal(await queue.take(1_000), 1);
  assert.equal(await queue.take(1_000), 2);
  const waiting = queue.take(60_000);
  await queue.put(3);
  assert.equal(await waiting, 3);
  queue.close();
});

test('a take with nothing to take returns undefined after its own timeout, also after a longer take', async () => {
  const queue = new MessageQueue<number>(10);
  // Answered at once by a put, this take leaves the shared timer armed for 60 s.
  const long = queue.take(60_000);
  await queue.put(1);
  assert.equal(await long, 1);
  const started = Date.now();
  assert.equal(await queue.take(20), undefined);
  // Far below the 60 s the earlier take's timer was due at: the short take was not made to wait for it.
  assert.ok(Date.now() - started < 10_000, `the 20 ms take waited ${Date.now() - started} ms`);
  queue.close();
});

test('a full queue holds put back until an item is taken', async () => {
  const queue = new MessageQueue<number>(1);
  assert.equal(queue.put(1), undefined, 'a put with room answers at once');
  let second = false;
  const waiting = queue.put(2);
  assert.ok(waiting !== undefined, 'a put into a full queue answers a promise');
  const putting = waiting.then(() => {
    second = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(second, false, 'put returned while the queue was full');
  assert.equal(await queue.take(1_000), 1);
  await putting;
  assert.equal(await queue.take(1_000), 2);
  queue.close();
});

test('a closed queue hands out what it holds, then null, or the failure it was closed with', async () => {
  const ended = new MessageQueue<number>(10);
  await ended.put(1);
  ended.close();
  assert.equal(await ended.take(1_000), 1);
  assert.equal(await ended.take(1_000), null);
  const failed = new MessageQueue<number>(10);
  const waiting = failed.take(60_000);
  failed.close(new Error('stream lost'));
  await assert.rejects(waiting, /stream lost/);
});
