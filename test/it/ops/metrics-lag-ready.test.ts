/**
 * What an operator sees of a pipeline deployed as two processes, one per role (`cdc run --role capture` and
 * `--role apply`), on the real stack: both are ready; /metrics counts exactly the changes made (snapshot
 * rows, captured, published, applied); lag is in seconds; and the apply lag of an idle, caught-up replica is
 * 0 instead of growing with the time since the last change.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { metric, metricsText, pipelineName, startPgPipeline } from './support.ts';

const SNAPSHOT_ROWS = 40;
const TABLE = 'items';

let source: TestDatabase;
let replica: TestDatabase;
const pipelines: RunningPipeline[] = [];

before(async () => {
  source = await createDatabase('ops_metrics_src');
  replica = await createDatabase('ops_metrics_dst');
  await source.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, note text NOT NULL)`);
  await source.query(
    `INSERT INTO ${TABLE} SELECT g, 'before ' || g FROM generate_series(1, ${SNAPSHOT_ROWS}) g`,
  );
});

after(async () => {
  for (const pipeline of pipelines) await pipeline.stop();
  await source.drop();
  await replica.drop();
});

async function replicaEqual(): Promise<boolean> {
  const expected = await tableContent(source, TABLE, 'id');
  return JSON.stringify(await tableContent(replica, TABLE, 'id')) === JSON.stringify(expected);
}

test('split roles are ready, /metrics counts every change exactly, and an idle replica has no lag', async () => {
  const name = pipelineName('ops-metrics');
  const slot = uniqueName('slot');
  const capture = await startPgPipeline(source, replica, { name, slot, roles: ['capture'] });
  pipelines.push(capture);
  const apply = await startPgPipeline(source, replica, { name, slot, roles: ['apply'] });
  pipelines.push(apply);
  const captureApi = capture.apiUrl ?? '';
  const applyApi = apply.apiUrl ?? '';

  // An apply-only process has no connector: it is ready once its worker runs.
  await waitFor('the apply-only process to be ready', async () => (await fetch(`${applyApi}/ready`)).ok, {
    timeoutMs: 60_000,
  });
  await waitFor('the capture-only process to be ready', async () => (await fetch(`${captureApi}/ready`)).ok, {
    timeoutMs: 60_000,
  });
  await waitFor('the snapshot to finish', () => capture.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  await waitFor('the snapshot to reach the replica', replicaEqual, { timeoutMs: 120_000 });

  // 25 inserts in 5 transactions, 10 updates and 5 deletes in one: 40 streamed events.
  for (let tx = 0; tx < 5; tx++) {
    const first = 1000 + tx * 5;
    await source.query(
      `INSERT INTO ${TABLE} SELECT g, 'streamed ' || g FROM generate_series(${first}, ${first + 4}) g`,
    );
  }
  await source.query(
    `BEGIN; UPDATE ${TABLE} SET note = note || ' updated' WHERE id <= 10; DELETE FROM ${TABLE} WHERE id > 35 AND id <= 40; COMMIT`,
  );
  const streamed = 25 + 10 + 5;
  const total = SNAPSHOT_ROWS + streamed;
  await waitFor('the streamed changes to reach the replica', replicaEqual, { timeoutMs: 120_000 });
  const lastWrite = Date.now();

  const connector = { connector: 'src' };
  assert.equal(
    await metric(captureApi, 'cdc_snapshot_rows_total', { ...connector, table: `public.${TABLE}` }),
    SNAPSHOT_ROWS,
  );
  assert.equal(await metric(captureApi, 'cdc_events_captured_total', connector), total);
  await waitFor(
    'Kafka to acknowledge every event',
    async () => (await metric(captureApi, 'cdc_events_published_total', connector)) === total,
  );
  await waitFor(
    'the applied counter to reach every event',
    async () => (await metric(applyApi, 'cdc_apply_events_total', { replica: 'dst' })) === total,
  );

  // Prometheus conventions: base units, one prefix.
  const text = await metricsText(captureApi);
  assert.match(text, /^cdc_capture_lag_seconds\{/m);
  assert.match(text, /^cdc_process_cpu_seconds_total\{/m);
  assert.doesNotMatch(text, /cdc_process_process_|_milliseconds/);
  assert.match(await metricsText(applyApi), /^cdc_apply_lag_seconds\{/m);

  // Idle and caught up: the oldest change not yet applied does not exist, so the lag is 0, however long
  // the source stays quiet (the old measure, now minus the last applied commit, grew past this wait).
  await waitFor(
    'the source to have been idle for 3 s with the replica caught up',
    () => Date.now() - lastWrite >= 3_000,
    { timeoutMs: 10_000 },
  );
  assert.equal(apply.workers()[0]?.lagMillis, 0);
  assert.equal(await metric(applyApi, 'cdc_apply_lag_seconds', { replica: 'dst' }), 0);
  assert.equal(apply.workers()[0]?.lastError, null);
});
