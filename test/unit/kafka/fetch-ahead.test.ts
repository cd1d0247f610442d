import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchAhead } from '../../../services/kafka/fetch-ahead.ts';
import type { ConsumedEvent } from '../../../services/kafka/record-decoding.ts';

const KEY = 'changes/0';

/** Stand-ins for decoded events: only the offset matters here. */
const events = (...offsets: number[]): ConsumedEvent[] =>
  offsets.map((offset) => ({ topic: 'changes', partition: 0, offset: String(offset) }) as ConsumedEvent);
const offsets = (list: readonly ConsumedEvent[]): string[] => list.map((consumed) => consumed.offset);

describe('fetching ahead', () => {
  test('a kept tail comes back in front of the next batch of its partition, once', () => {
    const ahead = new FetchAhead();
    ahead.keepTail(KEY, 1, events(10, 11, 12));
    assert.deepStrictEqual(offsets(ahead.takeTail('changes/1', 1, '13')), [], 'another partition has none');
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 1, '14')), ['10', '11', '12']);
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 1, '20')), [], 'taken once');
  });

  test('a batch that starts at or before the tail holds it itself: nothing comes twice', () => {
    const ahead = new FetchAhead();
    ahead.keepTail(KEY, 1, events(10, 11, 12));
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 1, '11')), ['10']);
    ahead.keepTail(KEY, 1, events(10, 11, 12));
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 1, '10')), []);
  });

  test('a group join drops kept tails and a membership error met before it', () => {
    const ahead = new FetchAhead();
    ahead.keepTail(KEY, 1, events(10));
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 2, '11')), [], 'kept in another generation');
    ahead.keepTail(KEY, 2, events(10));
    ahead.lostMembership(new Error('rebalancing'));
    assert.deepStrictEqual(offsets(ahead.takeTail(KEY, 2, '11')), [], 'not this member to apply any more');
    ahead.joined();
    assert.equal(ahead.takeMembershipError(), null, 'the join answered it');
    ahead.lostMembership(new Error('rebalancing'));
    assert.equal(ahead.takeMembershipError()?.message, 'rebalancing');
    assert.equal(ahead.takeMembershipError(), null, 'thrown once');
  });

  test('a tail is kept only while records follow it; otherwise it is read again', () => {
    const ahead = new FetchAhead();
    assert.equal(ahead.hasMore(KEY, '12', '20'), true);
    assert.equal(ahead.hasMore(KEY, '12', '13'), false, 'the batch ends the partition');
    ahead.passedOver(KEY, '19');
    assert.equal(ahead.hasMore(KEY, '12', '20'), false, 'only passed-over records follow');
    ahead.keepTail(KEY, 1, events(10, 11));
    assert.equal(ahead.dropTail(KEY), '10', 'read again from its first record');
    assert.equal(ahead.dropTail(KEY), null);
  });

  test('the next batch waits for the one in hand', async () => {
    const ahead = new FetchAhead();
    let finish = (): void => undefined;
    ahead.start(new Promise<void>((resolve) => (finish = resolve)));
    assert.equal(ahead.applying, true);
    let settled = false;
    const waiting = ahead.settled().then(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false);
    finish();
    await waiting;
    assert.equal(ahead.applying, false);
  });
});
