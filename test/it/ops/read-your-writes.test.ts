/**
 * Read-your-writes and lag-aware routing on a PostgreSQL → PostgreSQL pipeline on the real stack, over HTTP as
 * an application would: under a concurrent write load, every row written, waited for by its LSN token, is on
 * the replica when the wait answers 200; an idle source (its heartbeats a minute apart) answers at once; a paused replica answers 408, drops
 * out of `GET /replicas?maxLagMs=` and makes /ready fail once it lags past `readyMaxLagMs`, and both come back
 * when it catches up; malformed tokens and unknown replicas are refused with the parameter named.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { pipelineName, post, startPgPipeline } from './support.ts';

const READY_MAX_LAG_MS = 2_000;

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline;
let api = '';

before(async () => {
  source = await createDatabase('ryw_src');
  replica = await createDatabase('ryw_dst');
  await source.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
  await source.query('CREATE TABLE noise (id serial PRIMARY KEY, v int NOT NULL)');
  await source.query(`INSERT INTO items VALUES (0, 'seed')`);
  pipeline = await startPgPipeline(source, replica, {
    name: pipelineName('ryw'),
    slot: uniqueName('slot'),
    // Heartbeats a minute apart: an idle source is answered by the wait's own WAL fence, not by a heartbeat.
    source: { heartbeatIntervalMs: 60_000 },
    replica: { readyMaxLagMs: READY_MAX_LAG_MS },
  });
  api = pipeline.apiUrl ?? '';
  await waitFor('the pipeline to be ready', async () => (await fetch(`${api}/ready`)).ok, {
    timeoutMs: 60_000,
  });
  await waitFor(
    'the seed row on the replica',
    async () =>
      (await replica.query('SELECT 1 FROM items WHERE id = 0').catch(() => ({ rowCount: 0 }))).rowCount === 1,
    { timeoutMs: 60_000 },
  );
});

after(async () => {
  await pipeline.stop();
  await source.drop();
  await replica.drop();
});

async function wait(
  position: string,
  timeoutMs: number,
  name = 'dst',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const query = new URLSearchParams({ position, timeoutMs: String(timeoutMs) });
  const response = await fetch(`${api}/replicas/${name}/wait?${query.toString()}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function token(): Promise<string> {
  return (await source.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!
    .lsn;
}

async function onReplica(id: number): Promise<boolean> {
  return (await replica.query('SELECT 1 FROM items WHERE id = $1', [id])).rowCount === 1;
}

test('under a concurrent write load, a row waited for by its token is always on the replica', async () => {
  let loading = true;
  const load = (async () => {
    while (loading) await source.query('INSERT INTO noise (v) SELECT g FROM generate_series(1, 20) g');
  })();
  const missing: number[] = [];
  const waited: number[] = [];
  try {
    for (let id = 1; id <= 40; id++) {
      await source.query(`INSERT INTO items VALUES ($1, 'written')`, [id]);
      const answer = await wait(await token(), 30_000);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      waited.push(Number(answer.body.waitedMillis));
      if (!(await onReplica(id))) missing.push(id);
    }
  } finally {
    loading = false;
    await load;
  }
  assert.deepEqual(missing, [], 'rows missing on the replica after the wait answered 200');
  waited.sort((a, b) => a - b);
  console.log(`waits under load: median ${waited[20]} ms, max ${waited.at(-1)} ms`);
});

test('an idle source (one write, then nothing) answers 200 quickly', async () => {
  await source.query(`INSERT INTO items VALUES (100, 'alone')`);
  const started = Date.now();
  const answer = await wait(await token(), 10_000);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.ok(await onReplica(100));
  const elapsed = Date.now() - started;
  console.log(`idle wait: ${elapsed} ms`);
  assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
});

test('a malformed token, a token of another dialect, a too long timeout and an unknown replica are refused', async () => {
  const bad = await wait('not-an-lsn', 1_000);
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /position/);
  const mariadb = await wait('0-1-42', 1_000);
  assert.equal(mariadb.status, 400);
  assert.match(JSON.stringify(mariadb.body), /MariaDB GTID/);
  const long = await wait('0/16B3748', 600_000);
  assert.equal(long.status, 400);
  assert.match(JSON.stringify(long.body), /timeoutMs/);
  const unknown = await wait('0/16B3748', 1_000, 'nope');
  assert.equal(unknown.status, 404);
});

test('a paused replica answers 408, leaves the lag bound and /ready, and comes back when it catches up', async () => {
  assert.equal((await post(api, '/workers/dst/pause')).status, 200);
  await source.query(`INSERT INTO items VALUES (200, 'while paused')`);
  const timedOut = await wait(await token(), 1_500);
  assert.equal(timedOut.status, 408, JSON.stringify(timedOut.body));
  assert.match(JSON.stringify(timedOut.body), /WAIT_TIMED_OUT.*replica dst \(paused\)/);

  const routes = await (await fetch(`${api}/replicas?maxLagMs=1000`)).json();
  const dst = (routes as { replicas: { name: string; withinBound: boolean; reason: string }[] }).replicas[0]!;
  assert.equal(dst.withinBound, false);
  assert.match(dst.reason, /paused/);

  const unready = await waitFor(
    '/ready to fail on the lag of the paused replica',
    async () => {
      const response = await fetch(`${api}/ready`);
      return response.status === 503 ? ((await response.json()) as { reasons: string[] }) : null;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  assert.match(unready.reasons.join('; '), /replica dst lags \d+ ms, above its readyMaxLagMs of 2000 ms/);

  await post(api, '/workers/dst/resume');
  await waitFor('/ready again', async () => (await fetch(`${api}/ready`)).ok, { timeoutMs: 60_000 });
  assert.ok(await onReplica(200));
  const within = await waitFor(
    'the replica within the bound again',
    async () => {
      const body = (await (await fetch(`${api}/replicas?maxLagMs=1000`)).json()) as {
        replicas: { withinBound: boolean }[];
      };
      return body.replicas[0]?.withinBound === true ? body : null;
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(within.replicas.length, 1);
});
