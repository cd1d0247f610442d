/**
 * Missing rows and conflicts reach Prometheus: an apply task's sink applies updates and deletes of rows the
 * replica does not have, and /metrics' text (through the same bridge the pipeline uses) counts them per table
 * and operation, or, with conflict handling, per table, kind, policy and outcome, as cdc_apply.conflicts lists
 * them. The task's sink is used directly; no Kafka is needed for that.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
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

/**
 * A new table, and an update and two deletes of rows the replica does not have, in a source transaction at
 * `lsn` (each test's later than the last: the tests apply one stream).
 */
function missingRowChanges(lsn: bigint) {
  const table: TableSchema = pgTable(
    'public',
    uniqueName('items'),
    [column('id', 'bigint', { kind: 'int64' }, false), column('qty', 'integer', { kind: 'int32' })],
    ['id'],
  );
  const events = transaction(lsn, [
    { op: 'u', table, before: { id: 1n }, after: { id: 1n, qty: 1 } },
    { op: 'd', table, before: { id: 2n } },
    { op: 'd', table, before: { id: 3n } },
  ]);
  return { table, events };
}

test('updates and deletes that found no row are counted in cdc_apply_missing_rows_total per table and op', async () => {
  const { table, events } = missingRowChanges(16n);
  const text = await metricsAfterApply(db.url, source, events);
  const series = (op: string) =>
    new RegExp(
      `cdc_apply_missing_rows_total\\{replica="dst",table="public\\.${table.table}",op="${op}"\\} (\\d+)`,
    );
  assert.equal(series('update').exec(text)?.[1], '1', text);
  assert.equal(series('delete').exec(text)?.[1], '2', text);
});

test('conflicts are counted in cdc_conflicts_total per table, kind, policy and outcome, and listed in cdc_apply.conflicts', async () => {
  const { table, events } = missingRowChanges(32n);
  const text = await metricsAfterApply(db.url, source, events, { conflicts: { enabled: true } });
  const series = (kind: string, outcome: string) =>
    new RegExp(
      `cdc_conflicts_total\\{replica="dst",table="public\\.${table.table}",kind="${kind}",policy="last-writer-wins",outcome="${outcome}"\\} (\\d+)`,
    );
  assert.equal(series('update_missing', 'applied_remote').exec(text)?.[1], '1', text);
  assert.equal(series('delete_missing', 'skipped').exec(text)?.[1], '2', text);
  const listed = await db.query(
    'SELECT link, kind, outcome, remote_origin FROM cdc_apply.conflicts WHERE table_name = $1 ORDER BY id',
    [`public.${table.table}`],
  );
  assert.deepEqual(listed, [
    { link: source, kind: 'update_missing', outcome: 'applied_remote', remote_origin: 'test' },
    { link: source, kind: 'delete_missing', outcome: 'skipped', remote_origin: 'test' },
    { link: source, kind: 'delete_missing', outcome: 'skipped', remote_origin: 'test' },
  ]);
  assert.deepEqual(await db.query(`SELECT id, qty FROM public."${table.table}"`), [{ id: '1', qty: '1' }]);
});
