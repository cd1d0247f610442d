/**
 * The dashboard (/ui) in a real headless Chromium (Debian's, driven by playwright-core) against a running
 * PostgreSQL → PostgreSQL pipeline: it shows the source and the replica, its applied count follows rows written
 * to the source over /events without a reload, and its pause and resume buttons pause and resume the worker as
 * /status reports. Then against an API with tokens: a read token sees the pipeline but no admin button, and the
 * API refuses the page an admin call. Last, over /status as an `ha` pipeline reports it, the page says which
 * process holds each source's capture lease, that this one stands by, and which failover server capture reads;
 * and a source whose slot was lost offers a re-snapshot, which its button requests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../../../services/api/app.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import type { RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { declaredMetrics, ourMetricNames } from '../../support/monitoring-files.ts';
import { connector, FakeStatus } from '../../unit/api/fake-status.ts';
import { pipelineName, startPgPipeline } from './support.ts';

const CHROMIUM = process.env.CDC_CHROMIUM ?? '/usr/bin/chromium';

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline | null = null;
let browser: Browser;

before(async () => {
  source = await createDatabase('ops_ui_src');
  replica = await createDatabase('ops_ui_dst');
  await source.query(`CREATE TABLE rows (id int PRIMARY KEY, note text NOT NULL)`);
  // --no-sandbox: the test may run as root, where Chromium's sandbox refuses to start.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser.close();
  await pipeline?.stop();
  await source.drop();
  await replica.drop();
});

async function workerState(api: string): Promise<string | undefined> {
  const status = (await (await fetch(`${api}/status`)).json()) as { workers: { state: string }[] };
  return status.workers[0]?.state;
}

const cell = (page: Page, replicaName: string, field: string) =>
  page.locator(`#workers tr[data-replica="${replicaName}"] td[data-field="${field}"]`);

test('the dashboard shows the pipeline live, and its buttons pause and resume the replica', async () => {
  pipeline = await startPgPipeline(source, replica, {
    name: pipelineName('ops-ui'),
    slot: uniqueName('slot'),
  });
  const running = pipeline;
  const api = running.apiUrl ?? '';
  await waitFor('the pipeline to be ready', async () => (await fetch(`${api}/ready`)).ok, {
    timeoutMs: 60_000,
  });
  await waitFor('the initial snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true);

  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${api}/ui`);
  await page.locator('#live.live').waitFor({ timeout: 20_000 });
  await page.locator('#connectors tr[data-source="src"]').waitFor();
  await page.locator('#workers tr[data-replica="dst"]').waitFor();
  await page.locator('#graph [data-node="src"]').waitFor();
  await page.locator('#graph .edge[data-replica="dst"]').waitFor();

  // Rows written now show up as applied events, with no reload.
  const updates = async () => Number(await page.locator('body').getAttribute('data-updates'));
  const updatesBefore = await updates();
  await source.query(`INSERT INTO rows SELECT g, 'row ' || g FROM generate_series(1, 50) g`);
  await waitFor(
    'the page to show 50 applied events',
    async () => Number(await cell(page, 'dst', 'applied').textContent()) >= 50,
    { timeoutMs: 60_000 },
  );
  assert.ok((await updates()) > updatesBefore);
  await page.locator('#lag-chart polyline[data-series="dst"]').waitFor({ state: 'attached' });
  assert.equal(await cell(page, 'dst', 'dead-letters').textContent(), '0');

  await page.locator('#workers tr[data-replica="dst"] button', { hasText: 'Pause' }).click();
  await waitFor('the worker to be paused', async () => (await workerState(api)) === 'paused');
  await page.locator('#workers tr[data-replica="dst"] td[data-state="paused"]').waitFor();
  await page.locator('#workers tr[data-replica="dst"] button', { hasText: 'Resume' }).click();
  await waitFor('the worker to run again', async () => (await workerState(api)) === 'running');
  await page.locator('#workers tr[data-replica="dst"] td[data-state="running"]').waitFor();
  assert.deepEqual(errors, [], 'the page threw');

  // The alert rules and the Grafana dashboard (ops/) name only metrics this pipeline exports.
  const declared = declaredMetrics(await (await fetch(`${api}/metrics`)).text());
  for (const name of ourMetricNames())
    assert.ok(declared.has(name), `ops/ names ${name}, which /metrics lacks`);
  await page.close();
});

test('with a read token the page shows the pipeline but no admin button, and admin calls are refused', async () => {
  const readToken = 'read-token-0123456789abcdef';
  const app = await buildApp({
    status: new FakeStatus(),
    metrics: createMetrics(),
    access: {
      tokens: [
        { name: 'viewer', token: readToken, scope: 'read' },
        { name: 'ops', token: 'admin-token-0123456789abcdef', scope: 'admin' },
      ],
      openProbes: true,
    },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/ui`);
    await page.locator('#live', { hasText: 'token needed' }).waitFor();
    await page.fill('#token', readToken);
    await page.click('#token-form button');
    await page.locator('#workers tr[data-replica="pg-replica"]').waitFor();
    await page.locator('#scope', { hasText: 'read token' }).waitFor();
    assert.equal(
      await page.locator('button.admin:visible').count(),
      0,
      'admin buttons shown to a read token',
    );
    const refused = await page.evaluate(async (token) => {
      const response = await fetch('/workers/pg-replica/pause', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      return response.status;
    }, readToken);
    assert.equal(refused, 403);
    await page.close();
  } finally {
    await app.close();
  }
});

test('the page shows who holds the capture lease, the standby, and the failover server read now', async () => {
  const status = new FakeStatus([
    connector({
      name: 'orders',
      lease: { state: 'active', heldSince: new Date().toISOString(), holder: null, members: 2 },
      server: { current: 'db2:5432/shop', candidates: ['db1:5432/shop', 'db2:5432/shop'] },
    }),
    connector({
      name: 'billing',
      state: 'standby',
      lease: {
        state: 'standby',
        heldSince: null,
        holder: { member: 'cdc.capture-lease.billing-4f1c', host: '10.0.0.7' },
        members: 3,
      },
    }),
  ]);
  const app = await buildApp({ status, metrics: createMetrics() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/ui`);
    const capture = (source: string) =>
      page.locator(`#connectors tr[data-source="${source}"] td[data-field="capture"]`);
    await capture('orders').locator('[data-lease="active"]').waitFor();
    assert.match(
      (await capture('orders').textContent()) ?? '',
      /holds the lease since .* · 2 processes in the group.*on db2:5432\/shop \(candidates: db1:5432\/shop\)/,
    );
    await capture('billing').locator('[data-lease="standby"]').waitFor();
    assert.equal(
      await capture('billing').textContent(),
      'standby: 10.0.0.7 (cdc.capture-lease.billing-4f1c) holds the lease · 3 processes in the group',
    );
    // The holder moves to this process: the page follows over /events, with no reload.
    status.connectorList[1] = connector({
      name: 'billing',
      lease: { state: 'active', heldSince: new Date().toISOString(), holder: null, members: 3 },
    });
    await capture('billing').locator('[data-lease="active"]').waitFor();
    await page.close();
  } finally {
    await app.close();
  }
});

test('a source whose slot was lost says a re-snapshot is needed, and its button requests one', async () => {
  const status = new FakeStatus([
    connector({
      name: 'orders',
      state: 'failed',
      resnapshot: { state: 'needed', reason: 'the replication slot was dropped' },
    }),
  ]);
  const app = await buildApp({ status, metrics: createMetrics() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/ui`);
    const row = page.locator('#connectors tr[data-source="orders"]');
    await row.locator('[data-resnapshot="needed"]').waitFor();
    assert.equal(
      await row.locator('td[data-field="capture"]').textContent(),
      're-snapshot needed: the replication slot was dropped',
    );
    await row.getByRole('button', { name: 'Re-snapshot' }).click();
    // The request reached the API, and the page follows the source into its running re-snapshot.
    await row.locator('[data-resnapshot="running"]').waitFor();
    assert.deepEqual(status.resnapshotRequests, ['orders']);
    assert.equal(await row.getByRole('button', { name: 'Re-snapshot' }).count(), 0);
    await page.close();
  } finally {
    await app.close();
  }
});
