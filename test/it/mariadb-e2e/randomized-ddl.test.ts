/**
 * MariaDB → Kafka → PostgreSQL with schema changes while streaming: the randomized workload (inserts, updates
 * with key changes, deletes, truncates, large transactions) runs in rounds, and between rounds the source's
 * shape changes: ALTER TABLE ADD COLUMN (filled by later writes, or in untouched rows by constant defaults
 * alone), MODIFY a column's type (wider varchar, int → bigint, int → decimal), DROP COLUMN (of added columns:
 * the workload writes the others), and CREATE TABLE of new tables that then take writes too. At the end verify
 * reports every table equal and each replica table has exactly the source's columns.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { verifyDatabases } from '../../../services/verify/verify-replica.ts';
import { createTestPipeline } from '../../support/binlog-pipeline.ts';
import { createMariadbDatabase, type MariadbTestDatabase } from '../../support/mariadb.ts';
import { waitVerifiedEqual } from '../../support/mariadb-scenario.ts';
import {
  MARIADB_WORKLOAD_SCHEMA,
  MARIADB_WORKLOAD_SEED,
  runMariadbWorkload,
} from '../../support/mariadb-workload.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** One schema change and the writes that use it, given a source and a random source. */
type DdlStep = (db: MariadbTestDatabase, pick: (n: number) => number) => Promise<string>;

const STEPS: readonly DdlStep[] = [
  async (db, pick) => {
    await db.query(`ALTER TABLE accounts ADD COLUMN score int NULL`);
    await db.query(`UPDATE accounts SET score = ${pick(1000)} - id WHERE id % 3 = 0`);
    return 'accounts ADD COLUMN score int';
  },
  async (db) => {
    await db.query(`ALTER TABLE accounts MODIFY COLUMN owner varchar(300) NOT NULL`);
    await db.query(`UPDATE accounts SET owner = CONCAT(owner, REPEAT('-wide', 30)) WHERE id % 7 = 0`);
    return 'accounts MODIFY owner varchar(300)';
  },
  async (db, pick) => {
    await db.query(`ALTER TABLE accounts MODIFY COLUMN score bigint NULL`);
    await db.query(`UPDATE accounts SET score = 9000000000000 + ${pick(1000)} WHERE id % 5 = 0`);
    return 'accounts MODIFY score bigint';
  },
  async (db, pick) => {
    await db.query(
      `CREATE TABLE ledger (id int PRIMARY KEY, account_id bigint, amount int, memo varchar(40))`,
    );
    await db.query(
      `INSERT INTO ledger SELECT seq, seq % 300, seq * ${1 + pick(9)}, CONCAT('memo ', seq) FROM seq_1_to_500`,
    );
    return 'CREATE TABLE ledger';
  },
  async (db) => {
    await db.query(
      `ALTER TABLE events ADD COLUMN tag varchar(20) NULL DEFAULT 'new', ADD COLUMN day date NULL`,
    );
    await db.query(`UPDATE events SET day = '2024-03-01', tag = 'dated' WHERE seq % 4 = 0`);
    return 'events ADD COLUMN tag, day';
  },
  async (db) => {
    // Rows no later write touches (odd ids) have these columns only through their defaults, on both sides.
    await db.query(
      `ALTER TABLE ledger ADD COLUMN fee int NOT NULL DEFAULT 0, ADD COLUMN status varchar(10) DEFAULT 'open'`,
    );
    return 'ledger ADD COLUMN fee DEFAULT 0, status DEFAULT open';
  },
  async (db) => {
    await db.query(`ALTER TABLE ledger MODIFY COLUMN amount decimal(14,2)`);
    await db.query(
      `UPDATE ledger SET amount = amount / 3 WHERE id % 2 = 0; DELETE FROM ledger WHERE id % 11 = 0`,
    );
    return 'ledger MODIFY amount decimal(14,2)';
  },
  async (db) => {
    await db.query(`ALTER TABLE accounts DROP COLUMN score`);
    await db.query(`UPDATE accounts SET balance = balance + 1 WHERE id % 4 = 0`);
    return 'accounts DROP COLUMN score';
  },
  async (db) => {
    await db.query(`ALTER TABLE events DROP COLUMN tag`);
    await db.query(`CREATE TABLE tags (name varchar(30) PRIMARY KEY, hits bigint unsigned NOT NULL)`);
    await db.query(`INSERT INTO tags VALUES ('a', 1), ('b', 18446744073709551615), ('😀', 3)`);
    await db.query(`UPDATE tags SET name = 'c' WHERE name = 'a'`);
    return 'events DROP COLUMN tag; CREATE TABLE tags';
  },
];

async function sourceColumns(db: MariadbTestDatabase): Promise<string[]> {
  const rows = await db.query(
    `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [db.name],
  );
  return rows.map((row) => row.c ?? '');
}

async function replicaColumns(replica: TestDatabase, schema: string): Promise<string[]> {
  const result = await replica.query<{ c: string }>(
    `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema],
  );
  return result.rows.map((row) => row.c);
}

test('a randomized workload with ADD, MODIFY, DROP COLUMN and CREATE TABLE while streaming ends equal', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const source = await createMariadbDatabase('ddl_src');
  cleanups.push(() => source.drop());
  const replica = await createDatabase('ddl_dst');
  cleanups.push(() => replica.drop());
  await source.query(MARIADB_WORKLOAD_SCHEMA);
  await source.query(MARIADB_WORKLOAD_SEED);

  const pipeline = await createTestPipeline({
    prefix: 'ddl',
    source: { kind: 'mariadb', url: source.url },
    replica: { kind: 'postgres', url: replica.url },
    onError: 'stop',
    maxTransactionEvents: 500,
  });
  cleanups.push(() => pipeline.cleanup());
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  const running: RunningPipeline = await startPipeline(pipeline.config, logger, { api: false });
  cleanups.push(() => running.stop());
  const verify = () =>
    verifyDatabases({
      sourceName: pipeline.sourceName,
      replicaName: pipeline.replicaName,
      sourceUrl: source.url,
      targetUrl: replica.url,
      tables: [`${source.name}.*`],
      chunkRows: 1_000,
    });

  // Schema changes start once streaming does (DDL racing the snapshot is covered by snapshot-restart.test.ts
  // and test/it/mysql/snapshot.test.ts).
  await waitFor('the initial snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  let written = 0;
  for (const [round, step] of STEPS.entries()) {
    written += await runMariadbWorkload(source, {
      transactions: 15 + pick(30),
      seed: seed + round,
      truncates: true,
    });
    t.diagnostic(`round ${round}: ${await step(source, pick)}`);
  }
  written += await runMariadbWorkload(source, {
    transactions: 40,
    seed: seed + STEPS.length,
    truncates: true,
  });
  t.diagnostic(`${written} workload transactions, ${STEPS.length} schema changes`);

  const expectedColumns = await sourceColumns(source);
  await waitFor(
    'the replica tables to have exactly the source columns',
    async () =>
      JSON.stringify(await replicaColumns(replica, source.name)) === JSON.stringify(expectedColumns),
    { timeoutMs: 180_000, intervalMs: 500 },
  ).catch(async (error: unknown) => {
    assert.deepEqual(await replicaColumns(replica, source.name), expectedColumns, String(error));
  });
  const report = await waitVerifiedEqual('verify to report every table equal', verify);
  assert.deepEqual(
    report.tables.map((table) => table.table).sort(),
    ['accounts', 'events', 'ledger', 'tags'].map((name) => `${source.name}.${name}`),
  );
  assert.deepEqual(report.failures, []);
  const worker = running.workers()[0];
  assert.equal(worker?.deadLetters, 0, 'nothing dead-lettered');
  assert.equal(worker?.state, 'running', `the apply worker still runs (last error: ${worker?.lastError})`);
});
