/**
 * Slot health on the real stack: a PostgreSQL slot made to retain WAL past a tiny `warnRetainedWalBytes`
 * while its capture is paused shows the warning in /status and the `cdc_capture_slot_*` gauges, and the
 * warning clears once capture resumed and released the WAL.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { metric, pipelineName, post, startPgPipeline } from './support.ts';

const WARN_BYTES = 256 * 1024;

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline;
let api = '';

before(async () => {
  source = await createDatabase('slot_src');
  replica = await createDatabase('slot_dst');
  await source.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
  pipeline = await startPgPipeline(source, replica, {
    name: pipelineName('slot'),
    slot: uniqueName('slot'),
    source: { warnRetainedWalBytes: WARN_BYTES },
  });
  api = pipeline.apiUrl ?? '';
  await waitFor('the pipeline to be ready', async () => (await fetch(`${api}/ready`)).ok, {
    timeoutMs: 60_000,
  });
});

after(async () => {
  await pipeline.stop();
  await source.drop();
  await replica.drop();
});

async function slotWarnings(): Promise<string[]> {
  const status = (await (await fetch(`${api}/status`)).json()) as { connectors: { warnings?: string[] }[] };
  return (status.connectors[0]?.warnings ?? []).filter((warning) => warning.includes('retains'));
}

test('a slot retaining WAL past warnRetainedWalBytes while capture is paused is warned of, and clears', async () => {
  assert.deepEqual(await slotWarnings(), []);
  assert.equal((await post(api, '/connectors/src/pause')).status, 200);
  // About 2 MB of WAL the paused capture cannot release.
  await source.query(`INSERT INTO items SELECT g, repeat('x', 500) FROM generate_series(1, 4000) g`);
  const warnings = await waitFor('the retention warning in /status', async () => {
    const found = await slotWarnings();
    return found.length > 0 ? found : null;
  });
  assert.match(warnings[0]!, /retains \d+ bytes of WAL, above warnRetainedWalBytes \(262144\)/);
  assert.equal(await metric(api, 'cdc_capture_slot_warning', { connector: 'src' }), 1);
  const retained = await metric(api, 'cdc_capture_slot_retained_wal_bytes', { connector: 'src' });
  assert.ok(retained !== null && retained > WARN_BYTES, `retained ${retained}`);

  await post(api, '/connectors/src/resume');
  await waitFor(
    'the warning to clear once capture released the WAL',
    async () => (await slotWarnings()).length === 0,
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  assert.equal(await metric(api, 'cdc_capture_slot_warning', { connector: 'src' }), 0);
});
