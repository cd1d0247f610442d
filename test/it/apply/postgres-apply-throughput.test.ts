import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
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

void test('small rows apply at tens of thousands per second, every one exactly once', async (t) => {
  const stream = uniqueName('s');
  const table = pgTable(
    'public',
    uniqueName('fast'),
    [
      column('id', 'bigint', { kind: 'int64' }, false),
      column('name', 'text', { kind: 'string' }),
      column('amount', 'numeric(12,2)', { kind: 'decimal', precision: 12, scale: 2 }),
    ],
    ['id'],
  );
  const rows = 100_000;
  const perTransaction = 10;
  const batches: ChangeEvent[][] = [];
  let batch: ChangeEvent[] = [];
  for (let id = 0; id < rows; id += perTransaction) {
    const changes = Array.from({ length: perTransaction }, (_, i) => ({
      op: 'c' as const,
      table,
      after: { id: BigInt(id + i), name: `row ${id + i}`, amount: '12.34' },
    }));
    batch.push(...transaction(BigInt(id + 1), changes));
    if (batch.length >= 10_000) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  const started = performance.now();
  const run = await applyBatches(db.url, stream, batches, { maxEvents: 5_000 });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(run.error, null);
  t.diagnostic(`${Math.round(rows / seconds)} rows/s`);
  assert.deepEqual(
    await db.query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM public."${table.table}"`),
    [{ n: String(rows), ids: String(rows) }],
  );
  assert.ok(rows / seconds > 10_000, `apply is far too slow: ${Math.round(rows / seconds)} rows/s`);
});
