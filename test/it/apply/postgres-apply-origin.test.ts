/** What only PostgreSQL does beyond the sink contract (test/it/apply/contract): replication origins. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';
import { applyBatches, origins } from './harness.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop(origins());
});

function itemsTable() {
  return pgTable(
    'public',
    uniqueName('items'),
    [column('id', 'integer', { kind: 'int32' }, false), column('qty', 'integer', { kind: 'int32' })],
    ['id'],
  );
}

void describe('PostgreSQL apply: replication origins', () => {
  void test('applied commits carry the replication origin of the stream with the source commit position', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    await applyBatches(db.url, stream, [
      transaction(0x1234n, [{ op: 'c', table, after: { id: 1, qty: 1 } }]),
    ]);
    const progress = await db.query('SELECT pg_replication_origin_progress($1, true) AS lsn', [
      `cdc_${stream}`,
    ]);
    assert.deepEqual(progress, [{ lsn: '0/1234' }]);
  });
});
