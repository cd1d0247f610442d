/**
 * The missing-row count reaches Prometheus: an apply task's sink applies updates and deletes of rows the
 * replica does not have, and /metrics' text (through the same bridge the pipeline uses) counts them per table
 * and operation. The task's sink is used directly; no Kafka is needed for that.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';
import { metricsAfterApply } from './task-metrics.ts';

let db: TargetDatabase;
const source = uniqueName('src');

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop([`cdc_${source}`]);
});

test('updates and deletes that found no row are counted in cdc_apply_missing_rows_total per table and op', async () => {
  const table = pgTable(
    'public',
    uniqueName('items'),
    [column('id', 'bigint', { kind: 'int64' }, false), column('qty', 'integer', { kind: 'int32' })],
    ['id'],
  );
  const events = transaction(16n, [
    { op: 'u', table, before: { id: 1n }, after: { id: 1n, qty: 1 } },
    { op: 'd', table, before: { id: 2n } },
    { op: 'd', table, before: { id: 3n } },
  ]);
  const text = await metricsAfterApply(db.url, source, events);
  const series = (op: string) =>
    new RegExp(
      `cdc_apply_missing_rows_total\\{replica="dst",table="public\\.${table.table}",op="${op}"\\} (\\d+)`,
    );
  assert.equal(series('update').exec(text)?.[1], '1', text);
  assert.equal(series('delete').exec(text)?.[1], '2', text);
});
