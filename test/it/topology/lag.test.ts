/**
 * Lag per hop and end to end in a PostgreSQL cascade a → b → c, read as an operator reads it (`GET /status`,
 * `GET /metrics`). With the link b → c paused, a change written on a reaches b and waits in b's changelog: the
 * b → c worker shows the records waiting (backlogEvents) and a lag that keeps growing while it is paused, aged
 * from a's commit (b re-publishes with a's commit time: the row on c carries a's commit timestamp), instead of
 * the 0 or nothing a worker between batches or paused used to show. Resumed, it drains to 0.
 *
 * Between batches the lag is an estimate (services/pipeline/apply-lag.ts): never younger than the time since
 * the record was first seen waiting, never older than the time since the write plus one backlog sampling
 * interval and the delay the previous change had on its way to b's changelog. Those are the bounds checked.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ApplyWorkerStatus } from '../../../services/api/status-types.ts';
import { formatStatus, type StatusResponse } from '../../../services/cli/status-format.ts';
import { metric, post } from '../ops/support.ts';
import type { TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { startTopology, waitStreaming, type TopologyStage } from './harness.ts';

/** The backlog sampling interval (services/kafka/backlog.ts). */
const SAMPLE_INTERVAL_MS = 2_000;

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'lag',
    'cascade',
    ['a', 'b', 'c'],
    [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ],
    async (node, { kind, db }) => {
      if (node === 'a' && kind === 'postgres')
        await db.query('CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)');
    },
  );
});

after(async () => {
  await stage.cleanup();
});

async function status(apiUrl: string): Promise<StatusResponse> {
  return (await (await fetch(`${apiUrl}/status`)).json()) as StatusResponse;
}

async function workerStatus(apiUrl: string, name: string): Promise<ApplyWorkerStatus> {
  const found = (await status(apiUrl)).workers.find((w) => w.name === name);
  assert.ok(found, `no worker ${name} in /status`);
  return found;
}

/** The commit time of the row's last write, in µs since the epoch (track_commit_timestamp is on in the stack). */
async function commitMicros(db: TestDatabase, id: number): Promise<string> {
  const result = await db.query<{ micros: string }>(
    `SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text AS micros FROM items WHERE id = $1`,
    [id],
  );
  return result.rows[0]?.micros ?? 'no row';
}

async function hasRow(db: TestDatabase, id: number): Promise<boolean> {
  return ((await db.query('SELECT 1 FROM items WHERE id = $1', [id])).rowCount ?? 0) > 0;
}

test('a paused link of a cascade shows its backlog and an end-to-end lag since the commit on a, and drains to 0', async (t) => {
  const { pipeline, nodes } = stage;
  const [a, b, c] = [nodes.a, nodes.b, nodes.c].map((node) =>
    node?.kind === 'postgres' ? node.db : undefined,
  );
  const apiUrl = pipeline.apiUrl;
  assert.ok(a && b && c && apiUrl);
  const bToC = `${nodes.b?.name}-to-${nodes.c?.name}`;
  const aToB = `${nodes.a?.name}-to-${nodes.b?.name}`;
  await waitStreaming(stage);

  // A first change all the way through: its time from a's commit to b's changelog is the one the estimate
  // assumes for the next change.
  const firstWrite = Date.now();
  await a.query(`INSERT INTO items VALUES (1, 'first')`);
  await waitFor('row 1 on c', () => hasRow(c, 1), { timeoutMs: 120_000 });
  const firstDelay = Date.now() - firstWrite;
  await waitFor(`${bToC} to be caught up`, async () => {
    const w = await workerStatus(apiUrl, bToC);
    return w.backlogEvents === 0 && w.lagMillis === 0 && w.hopLagMillis === 0 ? w : null;
  });
  // b and c keep a's commit time: c's sink sets the time carried by b's events on its own commit.
  const aCommit = await commitMicros(a, 1);
  assert.equal(await commitMicros(b, 1), aCommit, "b's row should carry a's commit time");
  assert.equal(await commitMicros(c, 1), aCommit, "c's row should carry a's commit time, through b");

  const paused = await post(apiUrl, `/workers/${bToC}/pause`);
  assert.equal(paused.status, 200);
  assert.equal((paused.body as ApplyWorkerStatus).state, 'paused');
  // Paused and nothing waiting: caught up, so 0 rather than unknown.
  await waitFor(`${bToC} to read 0 while paused with nothing waiting`, async () => {
    const w = await workerStatus(apiUrl, bToC);
    return w.state === 'paused' && w.backlogEvents === 0 && w.lagMillis === 0;
  });

  const writeStart = Date.now();
  await a.query(`INSERT INTO items VALUES (2, 'while b-to-c is paused')`);
  await waitFor('row 2 on b', () => hasRow(b, 2), { timeoutMs: 120_000 });
  const seenWaiting = await waitFor(`${bToC} to show a backlog`, async () => {
    const w = await workerStatus(apiUrl, bToC);
    return (w.backlogEvents ?? 0) > 0 ? Date.now() : null;
  });

  // The lag grows while the link stays paused, where it used to read nothing (paused) or 0 (between batches).
  let previous = 0;
  for (const threshold of [2_000, 5_000]) {
    const w = await waitFor(`${bToC}'s end-to-end lag to pass ${threshold} ms`, async () => {
      const read = await workerStatus(apiUrl, bToC);
      return (read.endToEndLagMillis ?? 0) >= threshold ? read : null;
    });
    const now = Date.now();
    const lag = w.endToEndLagMillis ?? 0;
    assert.equal(w.state, 'paused');
    assert.equal(w.lagMillis, lag, 'lagMillis is the end-to-end lag');
    assert.ok(lag > previous, `the lag should grow while paused: ${lag} after ${previous}`);
    previous = lag;
    // Not younger than the time since the change was seen waiting in b's changelog...
    assert.ok(lag >= now - seenWaiting - 1_000, `lag ${lag} ms, waiting for ${now - seenWaiting} ms`);
    // ... nor older than the time since the write on a, within the estimate's bounds.
    const oldest = now - writeStart + SAMPLE_INTERVAL_MS + firstDelay + 1_000;
    assert.ok(lag <= oldest, `lag ${lag} ms, ${now - writeStart} ms since the write on a`);
    t.diagnostic(
      `end-to-end lag ${lag} ms, hop lag ${w.hopLagMillis} ms, ${now - writeStart} ms since the write on a, backlog ${w.backlogEvents}`,
    );
    const hop = w.hopLagMillis ?? -1;
    assert.ok(hop >= 0 && hop <= lag, `hop lag ${hop} ms should be within the end-to-end lag ${lag} ms`);
  }
  assert.ok(((await metric(apiUrl, 'cdc_apply_backlog_events', { replica: bToC })) ?? 0) > 0);
  assert.ok(((await metric(apiUrl, 'cdc_apply_lag_seconds', { replica: bToC })) ?? 0) >= 5);
  assert.ok(((await metric(apiUrl, 'cdc_apply_hop_lag_seconds', { replica: bToC })) ?? -1) >= 0);
  const line = formatStatus(await status(apiUrl))
    .split('\n')
    .find((l) => l.startsWith(bToC));
  // cdc status: LAG, HOP LAG and BACKLOG columns after the applied position.
  const age = String.raw`(?:\d+ ms|\d+\.\d s)`;
  assert.match(line ?? '', new RegExp(String.raw`paused\s+\S+\s+${age}\s+${age}\s+[1-9]\d*\s`));
  // The link before it is not behind: its lag is its own.
  const upstream = await workerStatus(apiUrl, aToB);
  assert.equal(upstream.backlogEvents, 0);
  assert.equal(upstream.lagMillis, 0);

  const resumed = await post(apiUrl, `/workers/${bToC}/resume`);
  assert.equal(resumed.status, 200);
  await waitFor('row 2 on c', () => hasRow(c, 2), { timeoutMs: 120_000 });
  await waitFor(`${bToC} to drain to 0`, async () => {
    const w = await workerStatus(apiUrl, bToC);
    return w.state === 'running' && w.backlogEvents === 0 && w.lagMillis === 0 && w.hopLagMillis === 0;
  });
  assert.equal(await metric(apiUrl, 'cdc_apply_backlog_events', { replica: bToC }), 0);
  assert.equal(await metric(apiUrl, 'cdc_apply_lag_seconds', { replica: bToC }), 0);
  assert.equal(await commitMicros(c, 2), await commitMicros(a, 2), "c's row 2 should carry a's commit time");
});
