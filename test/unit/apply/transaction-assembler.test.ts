import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleTransactions, chunkTransactions } from '../../../services/apply/transaction-assembler.ts';
import { column, consumed, pgTable, snapshotRead, transaction } from './events.ts';

const table = pgTable('public', 'items', [column('id', 'bigint', { kind: 'int64' }, false)], ['id']);
const insert = (id: number) => ({ op: 'c' as const, table, after: { id: BigInt(id) } });

void describe('transaction assembler', () => {
  void test('groups the events of each transaction and keeps commit order', () => {
    const events = [
      ...transaction(100n, [insert(1), insert(2)]),
      ...transaction(200n, [insert(3)]),
      ...transaction(300n, [insert(4), insert(5), insert(6)]),
    ];
    const units = assembleTransactions(consumed(events));
    assert.deepEqual(
      units.map((u) => [u.transaction.events.length, u.transaction.complete]),
      [
        [2, true],
        [1, true],
        [3, true],
      ],
    );
    assert.deepEqual(
      units[2]!.consumed.map((c) => c.event),
      events.slice(3),
    );
  });

  void test('a snapshot read is a unit on its own', () => {
    const events = [
      snapshotRead(50n, 0, table, { id: 1n }),
      snapshotRead(50n, 1, table, { id: 2n }),
      ...transaction(60n, [insert(3)]),
    ];
    const units = assembleTransactions(consumed(events));
    assert.deepEqual(
      units.map((u) => u.transaction.events.length),
      [1, 1, 1],
    );
    assert.ok(units.every((u) => u.transaction.complete));
  });

  void test('a large transaction whose total is only on its last event is complete at that event', () => {
    const events = transaction(100n, [insert(1), insert(2), insert(3)], { totalOnLastOnly: true });
    const units = assembleTransactions(consumed(events));
    assert.equal(units.length, 1);
    assert.equal(units[0]!.transaction.complete, true);
  });

  void test('a batch ending inside a transaction hands out the incomplete part, and the next batch continues it', () => {
    const events = transaction(100n, [insert(1), insert(2), insert(3)], { totalOnLastOnly: true });
    const first = assembleTransactions(consumed(events.slice(0, 2)));
    const second = assembleTransactions(consumed(events.slice(2)));
    assert.deepEqual(
      first.map((u) => [u.transaction.events.length, u.transaction.complete]),
      [[2, false]],
    );
    assert.deepEqual(
      second.map((u) => [u.transaction.events.length, u.transaction.complete]),
      [[1, true]],
    );
  });

  void test('chunks never split a transaction and stay within the limit otherwise', () => {
    const events = [
      ...transaction(1n, [insert(1), insert(2)]),
      ...transaction(2n, [insert(3), insert(4), insert(5)]),
      ...transaction(3n, [insert(6)]),
    ];
    const chunks = chunkTransactions(assembleTransactions(consumed(events)), 2);
    assert.deepEqual(
      chunks.map((chunk) => chunk.map((u) => u.transaction.events.length)),
      [[2], [3], [1]],
    );
    const all = chunkTransactions(assembleTransactions(consumed(events)), 100);
    assert.deepEqual(
      all.map((chunk) => chunk.length),
      [3],
    );
  });
});
