/**
 * During a snapshot a streamed UPDATE can reach the replica before the snapshot copied its row (the chunk
 * is published at its HIGH watermark, after the window's changes). These tests replay that order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, snapshotRead, transaction } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';
import { applyBatches, origins } from './harness.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop(origins());
});

function documentsTable() {
  return pgTable(
    'public',
    uniqueName('docs'),
    [
      column('id', 'integer', { kind: 'int32' }, false),
      column('version', 'integer', { kind: 'int32' }),
      column('body', 'text', { kind: 'string' }),
    ],
    ['id'],
  );
}

void describe('PostgreSQL apply: an update of a row the replica does not have yet', () => {
  void test('an update carrying every column inserts the row, and the snapshot copy lands on it', async () => {
    const stream = uniqueName('s');
    const table = documentsTable();
    const run = await applyBatches(db.url, stream, [
      transaction(10n, [{ op: 'c', table, after: { id: 1, version: 1, body: 'one' } }]),
      // Row 2 exists at the source but its chunk has not been copied yet.
      transaction(20n, [{ op: 'u', table, after: { id: 2, version: 2, body: 'two, edited' } }]),
      // The chunk at HIGH: row 1 as read, row 2 folded with the update above.
      [
        snapshotRead(30n, 0, table, { id: 1, version: 1, body: 'one' }),
        snapshotRead(30n, 1, table, { id: 2, version: 2, body: 'two, edited' }),
      ],
      transaction(40n, [{ op: 'u', table, after: { id: 2, version: 3 }, unchanged: ['body'] }]),
    ]);
    assert.equal(run.error, null);
    assert.deepEqual(run.deadLetters.letters, []);
    assert.deepEqual(await db.query(`SELECT id, version, body FROM public."${table.table}" ORDER BY id`), [
      { id: '1', version: '1', body: 'one' },
      { id: '2', version: '3', body: 'two, edited' },
    ]);
    assert.deepEqual(
      await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [stream]),
      [{ position: 'pg:0/28#0' }],
    );
  });

  void test('an update that left columns unsent is dead-lettered, naming the missing row and the columns', async () => {
    const stream = uniqueName('s');
    const table = documentsTable();
    const run = await applyBatches(db.url, stream, [
      transaction(10n, [{ op: 'c', table, after: { id: 1, version: 1, body: 'one' } }]),
      transaction(20n, [
        { op: 'u', table, after: { id: 1, version: 2 }, unchanged: ['body'] },
        { op: 'u', table, after: { id: 5, version: 2 }, unchanged: ['body'] },
      ]),
      // The chunk's copy, folded with that update, brings the whole row afterwards.
      [snapshotRead(30n, 0, table, { id: 5, version: 2, body: 'five, long' })],
    ]);
    assert.equal(run.error, null);
    assert.equal(run.deadLetters.letters.length, 1);
    const letter = run.deadLetters.letters[0]!;
    assert.equal(letter.consumed.event.after?.id, 5);
    assert.equal(letter.error.code, 'APPLY_FAILED');
    assert.ok(letter.reason.includes(`"public"."${table.table}"`), letter.reason);
    assert.match(letter.reason, /pg:0\/14#1/);
    assert.match(letter.reason, /id=5/);
    assert.match(letter.reason, /missing on the replica/);
    assert.match(letter.reason, /did not send body/);
    assert.deepEqual(await db.query(`SELECT id, version, body FROM public."${table.table}" ORDER BY id`), [
      { id: '1', version: '2', body: 'one' },
      { id: '5', version: '2', body: 'five, long' },
    ]);
  });
});
