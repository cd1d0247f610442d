/**
 * Read-your-writes on a MariaDB → MariaDB pipeline on the real stack, through the TypeScript client helper
 * (services/api/wait-client.ts): under a concurrent write load, every row written and waited for by its
 * `@@gtid_binlog_pos` token is on the replica when the wait answers; an idle source answers quickly; a
 * PostgreSQL LSN is refused for a MariaDB source. And the binlog health warning: once the binlog file the
 * capture reads is made the oldest on the server (PURGE BINARY LOGS), /status and the gauge warn of it, and
 * the warning clears when capture moves on to a newer file.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { ReplicaWaitError, replicaWait } from '../../../services/api/wait-client.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createMariadbDatabase, mariadbAdminQuery, type MariadbTestDatabase } from '../../support/mariadb.ts';
import { stack } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { metric, pipelineName } from './support.ts';

let source: MariadbTestDatabase;
let replica: MariadbTestDatabase;
let pipeline: RunningPipeline;
let api = '';

before(async () => {
  source = await createMariadbDatabase('ryw_msrc');
  replica = await createMariadbDatabase('ryw_mdst');
  await source.query('CREATE TABLE items (id int PRIMARY KEY, note varchar(40) NOT NULL)');
  await source.query('CREATE TABLE noise (id int AUTO_INCREMENT PRIMARY KEY, v int NOT NULL)');
  await source.query(`INSERT INTO items VALUES (0, 'seed')`);
  const name = pipelineName('ryw-m');
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6000 },
      sources: [{ name: 'msrc', kind: 'mariadb', url: source.url, heartbeatIntervalMs: 500 }],
      replicas: [{ name: 'mdst', source: 'msrc', kind: 'mariadb', url: replica.url }],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  api = pipeline.apiUrl ?? '';
  await waitFor(
    'the seed row on the replica',
    async () => (await replica.query('SELECT 1 AS one FROM items WHERE id = 0')).length === 1,
    { timeoutMs: 120_000, intervalMs: 200 },
  );
});

after(async () => {
  await pipeline.stop();
  await source.drop();
  await replica.drop();
});

async function tokenAfterCommit(): Promise<string> {
  const [row] = await source.query('SELECT @@gtid_binlog_pos AS position');
  return row?.position ?? '';
}

test('under a concurrent write load, a row waited for by its GTID token is always on the replica', async () => {
  let loading = true;
  const load = (async () => {
    while (loading) await source.query('INSERT INTO noise (v) VALUES (1), (2), (3), (4), (5)');
  })();
  const missing: number[] = [];
  const waited: number[] = [];
  try {
    for (let id = 1; id <= 25; id++) {
      await source.query(`INSERT INTO items VALUES (?, 'written')`, [id]);
      const answer = await replicaWait({
        url: api,
        replica: 'mdst',
        position: await tokenAfterCommit(),
        timeoutMs: 30_000,
      });
      waited.push(answer.waitedMillis);
      if ((await replica.query('SELECT 1 AS one FROM items WHERE id = ?', [id])).length !== 1)
        missing.push(id);
    }
  } finally {
    loading = false;
    await load;
  }
  assert.deepEqual(missing, [], 'rows missing on the replica after the wait answered 200');
  waited.sort((a, b) => a - b);
  console.log(`MariaDB waits under load: median ${waited[12]} ms, max ${waited.at(-1)} ms`);
});

test('an idle MariaDB source answers quickly, and an LSN is refused naming the dialect', async () => {
  await source.query(`INSERT INTO items VALUES (100, 'alone')`);
  const started = Date.now();
  await replicaWait({ url: api, replica: 'mdst', position: await tokenAfterCommit(), timeoutMs: 10_000 });
  assert.equal((await replica.query('SELECT 1 AS one FROM items WHERE id = 100')).length, 1);
  console.log(`MariaDB idle wait: ${Date.now() - started} ms`);
  await assert.rejects(
    replicaWait({ url: api, replica: 'mdst', position: '0/16B3748', timeoutMs: 1_000 }),
    (error: unknown) =>
      error instanceof ReplicaWaitError && error.status === 400 && /PostgreSQL LSN/.test(error.message),
  );
});

async function binlogWarnings(): Promise<string[]> {
  const status = (await (await fetch(`${api}/status`)).json()) as { connectors: { warnings?: string[] }[] };
  return (status.connectors[0]?.warnings ?? []).filter((warning) => warning.startsWith('binlog '));
}

test('the binlog file the capture needs becoming the oldest on the server is warned of, and clears', async () => {
  await source.query(`INSERT INTO items VALUES (300, 'before purge')`);
  await replicaWait({ url: api, replica: 'mdst', position: await tokenAfterCommit(), timeoutMs: 10_000 });
  const [current] = await mariadbAdminQuery('SHOW MASTER STATUS');
  const file = current?.File ?? '';
  await mariadbAdminQuery(`PURGE BINARY LOGS TO '${file}'`);
  const warnings = await waitFor('the binlog warning in /status', async () => {
    const found = await binlogWarnings();
    return found.length > 0 ? found : null;
  });
  assert.match(
    warnings[0]!,
    new RegExp(`binlog ${file.replace('.', '\\.')}, which the capture needs, is the oldest`),
  );
  assert.equal(await metric(api, 'cdc_capture_binlog_warning', { connector: 'msrc' }), 1);

  await mariadbAdminQuery('FLUSH BINARY LOGS');
  await source.query(`INSERT INTO items VALUES (301, 'in the next file')`);
  await waitFor('the binlog warning to clear', async () => (await binlogWarnings()).length === 0, {
    timeoutMs: 30_000,
  });
  assert.equal(await metric(api, 'cdc_capture_binlog_warning', { connector: 'msrc' }), 0);
});
