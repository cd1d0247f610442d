/**
 * Tombstones between two regions: which delete stands for a key deleted on both nodes, and what it keeps out.
 * Found by the randomized convergence runs (test/it/convergence/), reduced here to the writes that diverged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  configure,
  conflicts,
  converged,
  itemsTable,
  local,
  pick,
  regions,
  replicate,
  rowOf,
  seed,
  useTwoRegions,
} from './conflict-regions.ts';

useTwoRegions();

void describe('tombstones', () => {
  void test('a key deleted on both nodes keeps the later delete as its tombstone: an insert made between the two deletes lands on neither node', async () => {
    await configure({});
    const table = itemsTable();
    const seeded = { id: 1n, qty: 0, note: 'x' };
    await seed(table, [seeded]);
    const name = `public."${table.table}"`;
    // b deletes the row and inserts the key again; a, not having seen either, deletes the row later.
    const deletedOnB = await local('b', `DELETE FROM ${name} WHERE id = 1`);
    const insertedOnB = await local('b', `INSERT INTO ${name} VALUES (1, 5, 'b')`);
    const deletedOnA = await local('a', `DELETE FROM ${name} WHERE id = 1`);
    assert.ok(deletedOnB < insertedOnB && insertedOnB < deletedOnA);

    await replicate('b', deletedOnB, [{ op: 'd', table, before: seeded }]);
    await replicate('b', insertedOnB, [{ op: 'c', table, after: { id: 1n, qty: 5, note: 'b' } }]);
    await replicate('a', deletedOnA, [{ op: 'd', table, before: seeded }]);

    assert.equal(await converged(table, 1), null, 'the later delete (a) wins on both nodes');
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'delete_missing', policy: 'last-writer-wins', outcome: 'skipped' },
      { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local' },
    ]);
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'delete_differs', policy: 'last-writer-wins', outcome: 'applied_remote' },
    ]);
  });

  void test('an earlier remote delete does not replace a later local one, whichever arrives first: a later insert still comes back', async () => {
    await configure({});
    const table = itemsTable();
    const seeded = { id: 2n, qty: 0, note: 'x' };
    await seed(table, [seeded]);
    const name = `public."${table.table}"`;
    const deletedOnB = await local('b', `DELETE FROM ${name} WHERE id = 2`);
    const deletedOnA = await local('a', `DELETE FROM ${name} WHERE id = 2`);
    await replicate('b', deletedOnB, [{ op: 'd', table, before: seeded }]);
    await replicate('a', deletedOnA, [{ op: 'd', table, before: seeded }]);
    assert.equal(await converged(table, 2), null);
    // An insert older than a's delete stays out of both; one later than it is the key coming back on both.
    await replicate('b', deletedOnA - 1n, [{ op: 'c', table, after: { id: 2n, qty: 1, note: 'older' } }]);
    assert.equal(await rowOf('a', table, 2), null);
    await replicate('b', deletedOnA + 1n, [{ op: 'c', table, after: { id: 2n, qty: 2, note: 'later' } }]);
    assert.deepEqual(await rowOf('a', table, 2), { id: '2', qty: '2', note: 'later' });
  });

  void test("a node's local delete made before its link first wrote the table still leaves a tombstone: an older update from elsewhere does not bring the row back", async () => {
    // The tables exist before the topology starts (the application's own), as they do on a node joining a pair.
    await configure({ localTables: ['public.*'] });
    const table = itemsTable();
    const name = `public."${table.table}"`;
    for (const node of ['a', 'b'] as const) {
      await regions[node].db.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, qty integer, note text)`);
      await regions[node].db.query(`INSERT INTO ${name} VALUES (1, 0, 'x')`);
      await regions[node].sink.prepare();
    }
    const updatedOnB = await local('b', `UPDATE ${name} SET qty = 3 WHERE id = 1`);
    const deletedOnA = await local('a', `DELETE FROM ${name} WHERE id = 1`);
    const seeded = { id: 1n, qty: 0, note: 'x' };
    await replicate('b', updatedOnB, [
      { op: 'u', table, before: seeded, after: { id: 1n, qty: 3, note: 'x' } },
    ]);
    await replicate('a', deletedOnA, [{ op: 'd', table, before: seeded }]);
    assert.equal(await converged(table, 1), null, 'the later delete (a) wins on both nodes');
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'update_missing', policy: 'last-writer-wins', outcome: 'skipped' },
    ]);
  });
});
