/**
 * A snapshot requested while a MariaDB pipeline streams: the pipeline started without an initial snapshot, so
 * the PostgreSQL replica has only what changed since; `cdc snapshot` (POST /snapshots, then following
 * /status) copies the tables while a workload keeps writing, and afterwards verify reports every table equal.
 * The replica applies with onError 'stop': a chunk released at the wrong place would halt it on a duplicate.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { verifyDatabases } from '../../../services/verify/verify-replica.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createTestPipeline, type TestPipeline } from '../../support/binlog-pipeline.ts';
import { startCli } from '../../support/child-process.ts';
import { createMariadbDatabase, type MariadbTestDatabase } from '../../support/mariadb.ts';
import { waitVerifiedEqual } from '../../support/mariadb-scenario.ts';
import {
  MARIADB_WORKLOAD_SCHEMA,
  MARIADB_WORKLOAD_SEED,
  MARIADB_WORKLOAD_TABLES,
  runMariadbWorkload,
} from '../../support/mariadb-workload.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';

let source: MariadbTestDatabase;
let replica: TestDatabase;
let pipeline: TestPipeline;
let running: RunningPipeline | null = null;

before(async () => {
  source = await createMariadbDatabase('reqsnap_src');
  replica = await createDatabase('reqsnap_dst');
  await source.query(MARIADB_WORKLOAD_SCHEMA);
  await source.query(MARIADB_WORKLOAD_SEED);
  await source.query(
    `INSERT INTO events (account_id, kind, payload, at) SELECT seq % 300, 'bulk', JSON_OBJECT('n', seq), '2024-03-01 00:00:00' FROM seq_1_to_5000`,
  );
  pipeline = await createTestPipeline({
    prefix: 'reqsnap',
    source: { kind: 'mariadb', url: source.url },
    replica: { kind: 'postgres', url: replica.url },
    onError: 'stop',
    snapshot: 'never',
  });
});

after(async () => {
  await running?.stop();
  await pipeline.cleanup();
  await source.drop();
  await replica.drop();
});

test('cdc snapshot on a streaming MariaDB pipeline copies every row under writes: the replica verifies equal', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  running = await startPipeline(pipeline.config, logger, {});
  const pipe = running;
  assert.ok(pipe.apiUrl, 'the API listens');
  const stopWrites = new AbortController();
  const writes = runMariadbWorkload(source, {
    transactions: 1_000_000,
    seed,
    truncates: false,
    pauseMs: 5,
    signal: stopWrites.signal,
  });
  try {
    const cli = startCli(['snapshot', '--api', pipe.apiUrl, '--source', pipeline.sourceName]);
    const exit = await cli.exited;
    assert.equal(exit.code, 0, `cdc snapshot failed: ${cli.stderr()}`);
    assert.match(cli.stdout(), /done: \d+ rows in 2 tables/);
  } finally {
    stopWrites.abort();
  }
  t.diagnostic(`${await writes} source transactions written`);
  const report = await waitVerifiedEqual('verify to report the replica equal', () =>
    verifyDatabases({
      sourceName: pipeline.sourceName,
      replicaName: pipeline.replicaName,
      sourceUrl: source.url,
      targetUrl: replica.url,
      tables: MARIADB_WORKLOAD_TABLES.map((table) => `${source.name}.${table.name}`),
      chunkRows: 2_000,
    }),
  );
  assert.equal(report.tables.length, MARIADB_WORKLOAD_TABLES.length);
  assert.equal(pipe.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');
});
