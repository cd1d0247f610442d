/**
 * What an operator sees of a capture's trouble, over HTTP on the real stack: an event larger than
 * kafka.maxEventBytes diverted to the side topic shows in /status (count and a warning naming the topic) and in
 * /metrics (cdc_events_oversized_total); a source stream that fails and is started again is counted in
 * cdc_capture_errors_total, and capture goes on.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import type { ConnectorStatus } from '../../../services/api/status-types.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { adminQuery, createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { metric, pipelineName } from './support.ts';

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline | null = null;
const slot = uniqueName('slot');

before(async () => {
  source = await createDatabase('ops_capture_src');
  replica = await createDatabase('ops_capture_dst');
  await source.query(`CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)`);
  const name = pipelineName('ops-capture');
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: {
        brokers: stack.kafkaBrokers,
        topicPrefix: name,
        maxEventBytes: 8192,
        oversizedEvents: 'sideTopic',
      },
      sources: [{ name: 'src', kind: 'postgres', url: source.url, slot, heartbeatIntervalMs: 500 }],
      replicas: [
        { name: 'dst', source: 'src', kind: 'postgres', url: replica.url, originName: uniqueName('origin') },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
});

after(async () => {
  await pipeline?.stop();
  await source.drop();
  await replica.drop();
});

async function connectorStatus(api: string): Promise<ConnectorStatus | undefined> {
  const body = (await (await fetch(`${api}/status`)).json()) as { connectors: ConnectorStatus[] };
  return body.connectors[0];
}

async function replicaHas(ids: readonly number[]): Promise<boolean> {
  const exists = await replica.query<{ ok: string | null }>(`SELECT to_regclass('notes') AS ok`);
  if (exists.rows[0]?.ok === null) return false;
  const rows = await replica.query<{ id: string }>(`SELECT id FROM notes`);
  const present = new Set(rows.rows.map((row) => Number(row.id)));
  return ids.every((id) => present.has(id));
}

test('an oversized event diverted to the side topic shows in /status and /metrics', async () => {
  const api = pipeline?.apiUrl ?? '';
  // Row 2 is far above maxEventBytes (incompressible text); rows 1 and 3 around it arrive.
  await source.query(`INSERT INTO notes VALUES (1, 'small')`);
  await source.query(`INSERT INTO notes VALUES (2, $1)`, [randomBytes(10_000).toString('hex')]);
  await source.query(`INSERT INTO notes VALUES (3, 'small too')`);
  await waitFor('rows 1 and 3 at the replica', () => replicaHas([1, 3]), { timeoutMs: 60_000 });

  const status = await connectorStatus(api);
  assert.equal(status?.eventsOversized, 1);
  assert.ok(
    status?.warnings?.some((warning) =>
      /1 event\(s\) larger than kafka\.maxEventBytes went to \S+\.src\.oversized/.test(warning),
    ),
    `a warning names the side topic: ${JSON.stringify(status?.warnings)}`,
  );
  assert.equal(await metric(api, 'cdc_events_oversized_total', { connector: 'src' }), 1);
  assert.equal(await replicaHas([2]), false, 'the oversized row is not at the replica');
});

test('a source stream that fails and is restarted is counted in cdc_capture_errors_total', async () => {
  const running = pipeline;
  assert.ok(running, 'the pipeline runs');
  const api = running.apiUrl ?? '';
  const before = (await metric(api, 'cdc_capture_errors_total', { connector: 'src' })) ?? 0;
  await adminQuery(
    `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
    [slot],
  );
  await waitFor(
    'the lost stream counted as a capture error',
    async () => ((await metric(api, 'cdc_capture_errors_total', { connector: 'src' })) ?? 0) > before,
    { timeoutMs: 30_000 },
  );
  // And capture goes on.
  await source.query(`INSERT INTO notes VALUES (4, 'after the restart')`);
  await waitFor('row 4 at the replica', () => replicaHas([4]), { timeoutMs: 60_000 });
  assert.equal(await metric(api, 'cdc_capture_errors_total', { connector: 'src' }), before + 1);
});
