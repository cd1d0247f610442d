/**
 * Conflicts reach Prometheus: an apply task configured with conflict handling applies changes that meet
 * missing rows, and /metrics' text (through the same bridge the pipeline uses) counts them per table, kind,
 * policy and outcome, as cdc_apply.conflicts lists them. The task's sink is used directly; no Kafka is needed.
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

test('conflicts are counted in cdc_conflicts_total per table, kind, policy and outcome, and listed in cdc_apply.conflicts', async () => {
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
