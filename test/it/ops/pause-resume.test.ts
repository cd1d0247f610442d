/**
 * Pause and resume through the API on the real stack. A paused apply worker applies nothing while capture
 * goes on; a paused connector reads nothing (its slot goes idle, keeping its position); after resume every
 * row arrives, and each change is applied exactly once (the worker's applied count equals the changes made,
 * the changelog holds each change once). Also: a worker's lastError goes once it has recovered.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import type { RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { readChangelog } from '../../support/changelog.ts';
import { adminQuery, createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { metric, pipelineName, post, startPgPipeline } from './support.ts';

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline | null = null;

before(async () => {
  source = await createDatabase('ops_pause_src');
  replica = await createDatabase('ops_pause_dst');
  await source.query(`CREATE TABLE rows (id int PRIMARY KEY, note text NOT NULL)`);
});

after(async () => {
  await pipeline?.stop();
  await source.drop();
  await replica.drop();
});

async function insert(from: number, count: number): Promise<void> {
  await source.query(
    `INSERT INTO rows SELECT g, 'row ' || g FROM generate_series(${from}, ${from + count - 1}) g`,
  );
}

async function replicaCount(): Promise<number> {
  const rows = await tableContent(replica, 'rows', 'id');
  return rows?.length ?? 0;
}

async function replicaEqual(): Promise<boolean> {
  const expected = await tableContent(source, 'rows', 'id');
  return JSON.stringify(await tableContent(replica, 'rows', 'id')) === JSON.stringify(expected);
}

/** Polls for `ms` that the replica keeps `count` rows: nothing may arrive while paused. */
async function replicaStaysAt(count: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  await waitFor(`${ms} ms to pass with ${count} rows at the replica`, async () => {
    assert.equal(await replicaCount(), count, 'a row reached the replica while paused');
    return Date.now() >= until;
  });
}

test('a paused worker or connector holds changes back; resumed, each arrives exactly once', async () => {
  const name = pipelineName('ops-pause');
  const slot = uniqueName('slot');
  pipeline = await startPgPipeline(source, replica, { name, slot });
  const running = pipeline;
  const api = running.apiUrl ?? '';
  await waitFor('the pipeline to be ready', async () => (await fetch(`${api}/ready`)).ok, {
    timeoutMs: 60_000,
  });

  // The initial snapshot of the (empty) table first, so every row below reaches Kafka once, as a stream insert.
  await waitFor('the initial snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true);
  await insert(1, 10);
  await waitFor('the first rows at the replica', async () => (await replicaCount()) === 10, {
    timeoutMs: 60_000,
  });

  // Worker paused: capture publishes the next rows to Kafka, the replica gets none of them.
  const pausedWorker = await post(api, '/workers/dst/pause');
  assert.equal(pausedWorker.status, 200);
  assert.equal((pausedWorker.body as { state: string }).state, 'paused');
  assert.equal(running.workers()[0]?.state, 'paused');
  await insert(11, 10);
  await waitFor(
    'capture to publish the rows written while the worker is paused',
    async () => (await metric(api, 'cdc_events_published_total', { connector: 'src' })) === 20,
  );
  await replicaStaysAt(10, 1_500);
  const resumedWorker = await post(api, '/workers/dst/resume');
  assert.equal(resumedWorker.status, 200);
  await waitFor('the held-back rows at the replica', replicaEqual, { timeoutMs: 60_000 });
  assert.equal(running.workers()[0]?.state, 'running');

  // Connector paused: it stops reading, its slot goes idle and keeps its position.
  const pausedConnector = await post(api, '/connectors/src/pause');
  assert.equal(pausedConnector.status, 200);
  assert.equal((pausedConnector.body as { state: string }).state, 'paused');
  const slotActive = async (): Promise<unknown> => {
    const result = await adminQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    return (result.rows[0] as { active?: unknown } | undefined)?.active;
  };
  await waitFor('the slot to be released', async () => (await slotActive()) === 'f');
  await insert(21, 10);
  await replicaStaysAt(20, 1_500);
  assert.equal(await metric(api, 'cdc_events_published_total', { connector: 'src' }), 20);
  assert.equal(running.connectors()[0]?.state, 'paused');
  await post(api, '/connectors/src/resume');
  await waitFor('the rows written while capture was paused at the replica', replicaEqual, {
    timeoutMs: 60_000,
  });
  await waitFor('the connector to stream again', () => running.connectors()[0]?.state === 'streaming');

  // Exactly once: 30 inserts made, 30 applied, 30 in the changelog, none twice.
  assert.equal(running.workers()[0]?.eventsApplied, 30);
  const changelog = await readChangelog(name, connectorTopics(name, 'src').changelog);
  const ids = changelog.map((consumed) => String(consumed.event.after?.id));
  assert.equal(ids.length, 30, `changelog ids: ${ids.join(',')}`);
  assert.equal(new Set(ids).size, 30);
});

test("a worker's lastError is cleared once it recovered; the errors count keeps the history", async () => {
  const running = pipeline;
  assert.ok(running, 'the first test started the pipeline');
  const api = running.apiUrl ?? '';
  // The apply worker loses its replica connection in the middle of a write: another session holds the row
  // it is about to insert, and once the worker waits on that lock its backend is terminated. (An idle
  // connection lost between batches is replaced without an error, so it would prove nothing here.)
  const errorsBefore = running.workers()[0]?.errors ?? 0;
  const blocker = new pg.Client({ connectionString: replica.url });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO rows (id, note) VALUES (31, 'held')`);
    await insert(31, 5);
    const applying = `FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cdc-apply'`;
    await waitFor('the apply session to wait on the held row', async () => {
      const waiting = await adminQuery(`SELECT pid ${applying} AND wait_event_type = 'Lock'`, [replica.name]);
      return waiting.rowCount === 1;
    });
    await adminQuery(`SELECT pg_terminate_backend(pid) ${applying}`, [replica.name]);
    await blocker.query('ROLLBACK');
  } finally {
    await blocker.end();
  }
  await waitFor('the rows written after the connection loss at the replica', replicaEqual, {
    timeoutMs: 60_000,
  });
  const worker = running.workers()[0];
  assert.ok((worker?.errors ?? 0) > errorsBefore, 'the lost connection was counted as an error');
  assert.equal(worker?.state, 'running');
  assert.equal(worker?.lastError, null, 'the recovered error is not shown as current');
  assert.ok(((await metric(api, 'cdc_apply_errors_total', { replica: 'dst' })) ?? 0) > errorsBefore);
});

test("a connector's lastError is cleared once it streams again after losing its walsender", async () => {
  const running = pipeline;
  assert.ok(running, 'the first test started the pipeline');
  const slot = running.connectors()[0]?.stream.replace(/^slot /, '') ?? '';
  await adminQuery(
    `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
    [slot],
  );
  await waitFor(
    'the connector to notice the lost stream',
    () => running.connectors()[0]?.lastError !== null,
    {
      timeoutMs: 30_000,
      intervalMs: 20,
    },
  );
  await insert(36, 5);
  await waitFor('the rows written after the reconnect at the replica', replicaEqual, { timeoutMs: 60_000 });
  await waitFor(
    'the connector to stream with no current error',
    () => running.connectors()[0]?.state === 'streaming' && running.connectors()[0]?.lastError === null,
    { timeoutMs: 30_000 },
  );
});
