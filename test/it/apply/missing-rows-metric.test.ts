/**
 * The missing-row count reaches Prometheus: an apply task's sink applies updates and deletes of rows the
 * replica does not have, and /metrics' text (through the same bridge the pipeline uses) counts them per table
 * and operation. The task's sink is used directly; no Kafka is needed for that.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { ApplyTask } from '../../../services/pipeline/apply-task.ts';
import { MetricsBridge } from '../../../services/pipeline/metrics-bridge.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

let db: TargetDatabase;
const source = uniqueName('src');

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop([`cdc_${source}`]);
});

test('updates and deletes that found no row are counted in cdc_apply_missing_rows_total per table and op', async () => {
  const config = parseConfig(
    JSON.stringify({
      name: 'missing-rows',
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: uniqueName('mr') },
      sources: [{ name: source, kind: 'postgres', url: stack.pgSourceUrl, slot: uniqueName('slot') }],
      replicas: [{ name: 'dst', source, kind: 'postgres', url: db.url }],
    }),
    'json',
  );
  const task = new ApplyTask(config.replicas[0]!, config.kafka, silentLogger);
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
  try {
    await task.sink.apply(source, [{ commit: events[0]!.source.position.commit, events, complete: true }]);
  } finally {
    await task.sink.close();
  }
  const metrics = createMetrics();
  new MetricsBridge(metrics, [], [task]).refresh();
  const text = await metrics.render();
  const series = (op: string) =>
    new RegExp(
      `cdc_apply_missing_rows_total\\{replica="dst",table="public\\.${table.table}",op="${op}"\\} (\\d+)`,
    );
  assert.equal(series('update').exec(text)?.[1], '1', text);
  assert.equal(series('delete').exec(text)?.[1], '2', text);
});
