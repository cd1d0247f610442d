/**
 * `npm run screenshots`: the dashboard's pictures in docs/images, taken in headless Chromium (Debian's, as the
 * dashboard's test uses) from the real page and API, fed by a fixed sample status of the cascade example
 * (a → b → c) with a little history, so the pictures do not depend on a stack's timing.
 */
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { buildApp } from '../services/api/app.ts';
import type { ApplyWorkerStatus, ConnectorStatus, StatusProvider } from '../services/api/status-types.ts';
import { parseConfig } from '../services/config/load.ts';
import { createMetrics } from '../services/metrics/metrics.ts';

const config = parseConfig(
  JSON.stringify({
    name: 'cascade',
    kafka: { brokers: ['127.0.0.1:9092'], topicPrefix: 'cascade' },
    topology: {
      shape: 'cascade',
      nodes: [
        { name: 'a', kind: 'postgres', region: 'eu-west', url: 'postgres://u@db1/tier_a' },
        { name: 'b', kind: 'postgres', region: 'eu-west', url: 'postgres://u@db1/tier_b' },
        { name: 'c', kind: 'postgres', region: 'us-east', url: 'postgres://u@db2/tier_c' },
      ],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    },
  }),
  'json',
  { env: {} },
);

let tick = 0;
const connector = (name: string, snapshot: ConnectorStatus['snapshot']): ConnectorStatus => ({
  name,
  kind: 'postgres',
  state: 'streaming',
  stream: `slot cdc_${name}`,
  confirmed: 'pg:0/1A2B3C',
  received: 'pg:0/1A2B40',
  lagBytes: 512,
  lagMillis: 40 + (tick % 7) * 10,
  snapshot,
  lastError: null,
  // Captured with `ha: true` by two processes: this one holds the lease.
  lease: { state: 'active', heldSince: '2026-12-06T04:00:00.000Z', holder: null, members: 2 },
});
const worker = (name: string, source: string, base: number): ApplyWorkerStatus => {
  const lag = base + Math.round(400 * Math.abs(Math.sin(tick / 6)));
  return {
    name,
    source,
    state: 'running',
    appliedPosition: 'pg:0/1A2B3C#0',
    lagMillis: lag,
    endToEndLagMillis: lag,
    hopLagMillis: Math.round(lag / 2),
    backlogEvents: 12,
    eventsApplied: 1000 * tick + base,
    transactionsApplied: 250 * tick,
    errors: 0,
    deadLetters: name === 'b-to-c' ? 2 : 0,
    lastError: null,
  };
};

const status: StatusProvider = {
  connectors: () => [
    connector('a', {
      table: null,
      tablesDone: 3,
      tablesTotal: 3,
      rowsDone: 120_000,
      rowsTotal: 120_000,
      rowsPerSecond: 0,
      done: true,
    }),
    connector('b', {
      table: 'public.orders',
      tablesDone: 1,
      tablesTotal: 3,
      rowsDone: 52_000,
      rowsTotal: 120_000,
      rowsPerSecond: 9_000,
      done: false,
    }),
  ],
  workers: () => [worker('a-to-b', 'a', 150), worker('b-to-c', 'b', 600)],
  requestSnapshot: () => Promise.resolve(),
};

const app = await buildApp({ status, metrics: createMetrics(), config });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CDC_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${url}/ui`);
  // Ten seconds of events for the charts: each second the sample moves on one tick.
  for (tick = 1; tick <= 10; tick++) {
    await page
      .locator('body')
      .and(page.locator(`[data-updates="${tick}"]`))
      .waitFor({ timeout: 5_000 });
  }
  mkdirSync(new URL('../docs/images/', import.meta.url), { recursive: true });
  await page.screenshot({
    path: new URL('../docs/images/dashboard.png', import.meta.url).pathname,
    fullPage: true,
  });
  await page
    .locator('#graph')
    .screenshot({ path: new URL('../docs/images/dashboard-graph.png', import.meta.url).pathname });
} finally {
  await browser.close();
  await app.close();
}
