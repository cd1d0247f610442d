/**
 * The apply lag arithmetic (services/pipeline/apply-lag.ts): exact inside a batch, 0 only when nothing waits
 * in the changelog, and between batches with a backlog an age that keeps growing instead of 0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyLag, type LagInputs } from '../../../services/pipeline/apply-lag.ts';

const NOW = 1_000_000;

function lag(over: Partial<LagInputs>) {
  return applyLag({
    now: NOW,
    consuming: true,
    pending: null,
    lastApplied: null,
    backlog: 0,
    caughtUpAt: null,
    ...over,
  });
}

void describe('apply lag', () => {
  void test('inside a batch: the first change’s age since its original commit and since its publication', () => {
    const pending = { commitMillis: NOW - 9_000, publishedMillis: NOW - 2_000 };
    assert.deepEqual(lag({ pending, backlog: 40 }), { endToEndMillis: 9_000, hopMillis: 2_000 });
    // A change from an in-memory feed has no publication time: only the hop lag is unknown.
    assert.deepEqual(lag({ pending: { commitMillis: NOW - 500, publishedMillis: null } }), {
      endToEndMillis: 500,
      hopMillis: null,
    });
    // A source clock ahead of ours makes no negative lag.
    assert.deepEqual(lag({ pending: { commitMillis: NOW + 300, publishedMillis: NOW + 100 } }), {
      endToEndMillis: 0,
      hopMillis: 0,
    });
  });

  void test('caught up: nothing left in the changelog reads 0, paused or not', () => {
    const lastApplied = { commitMillis: NOW - 60_000, publishedMillis: NOW - 59_000 };
    assert.deepEqual(lag({ lastApplied, backlog: 0 }), { endToEndMillis: 0, hopMillis: 0 });
    assert.deepEqual(lag({ lastApplied, backlog: 0, consuming: false }), { endToEndMillis: 0, hopMillis: 0 });
  });

  void test('between batches with a backlog, the last applied change’s age keeps growing instead of 0', () => {
    // A worker reading continuously: the next record was published right after the last one applied.
    const lastApplied = { commitMillis: NOW - 30_000, publishedMillis: NOW - 29_000 };
    const caughtUpAt = NOW - 120_000;
    assert.deepEqual(lag({ lastApplied, backlog: 5_000, caughtUpAt }), {
      endToEndMillis: 30_000,
      hopMillis: 29_000,
    });
    assert.deepEqual(lag({ lastApplied, backlog: 5_000, caughtUpAt, now: NOW + 10_000 }), {
      endToEndMillis: 40_000,
      hopMillis: 39_000,
    });
  });

  void test('a backlog that came after the worker was caught up is aged from that moment, plus the hops before', () => {
    // Idle for an hour, seen caught up 2 s ago, then a change arrived while the worker is paused. The change
    // applied last took 1.5 s to reach this changelog; the next one is taken to have taken as long.
    const lastApplied = { commitMillis: NOW - 3_601_500, publishedMillis: NOW - 3_600_000 };
    const inputs = { lastApplied, backlog: 1, caughtUpAt: NOW - 2_000, consuming: false };
    assert.deepEqual(lag(inputs), { endToEndMillis: 3_500, hopMillis: 2_000 });
    assert.deepEqual(lag({ ...inputs, now: NOW + 5_000 }), { endToEndMillis: 8_500, hopMillis: 7_000 });
  });

  void test('unknown backlog: a consuming worker between batches reads 0, one not consuming is unknown', () => {
    const lastApplied = { commitMillis: NOW - 1_000, publishedMillis: NOW - 900 };
    assert.deepEqual(lag({ lastApplied, backlog: null }), { endToEndMillis: 0, hopMillis: 0 });
    assert.deepEqual(lag({ lastApplied, backlog: null, consuming: false }), {
      endToEndMillis: null,
      hopMillis: null,
    });
  });

  void test('a backlog with nothing known of when it was published', () => {
    assert.deepEqual(lag({ backlog: 10, consuming: false }), { endToEndMillis: null, hopMillis: null });
    // Applied from a feed without publication times: the last change's age since its commit bounds the next.
    const lastApplied = { commitMillis: NOW - 4_000, publishedMillis: null };
    assert.deepEqual(lag({ lastApplied, backlog: 10 }), { endToEndMillis: 4_000, hopMillis: null });
    // Seen caught up, nothing applied since this process started: the hop since then, no upstream estimate.
    assert.deepEqual(lag({ backlog: 10, caughtUpAt: NOW - 700 }), { endToEndMillis: 700, hopMillis: 700 });
  });
});
