/**
 * A column added on the source with a constant default fills the rows already there; the replica's rows must
 * get the same value, without any later write touching them. Source → Kafka → replica for MariaDB →
 * PostgreSQL, PostgreSQL → PostgreSQL and PostgreSQL → MariaDB: rows exist and are replicated, the source
 * adds a NOT NULL int with DEFAULT 0, a varchar with DEFAULT 'new' and a date with a default, one new row
 * makes the replica take the new shape, and `verify` then reports the tables equal.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { verifyDatabases } from '../../../services/verify/verify-replica.ts';
import { createTestPipeline } from '../../support/binlog-pipeline.ts';
import { createMariadbDatabase } from '../../support/mariadb.ts';
import { createDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

type Rows = Record<string, string | null>[];

/** One side of a pipeline: its URL, the schema (PostgreSQL) or database (MariaDB) holding `items`, text rows. */
interface Side {
  readonly kind: 'mariadb' | 'postgres';
  readonly url: string;
  readonly schema: string;
  query(sql: string): Promise<Rows>;
}

async function mariadbSide(prefix: string): Promise<Side> {
  const db = await createMariadbDatabase(prefix);
  cleanups.push(() => db.drop());
  return { kind: 'mariadb', url: db.url, schema: db.name, query: (sql) => db.query(sql) };
}

/** A PostgreSQL database whose `items` lives in `schema` (a MariaDB peer's database name, so names line up). */
async function postgresSide(prefix: string, schema = 'public'): Promise<Side> {
  const db = await createDatabase(prefix);
  cleanups.push(() => db.drop());
  if (schema !== 'public') await db.query(`CREATE SCHEMA "${schema}"`);
  return {
    kind: 'postgres',
    url: db.url,
    schema,
    async query(sql) {
      // Pool connections: each statement names its schema through the search path it sets itself.
      const result = await db.query(`SET search_path TO "${schema}"; ${sql}`);
      // Two statements answer with two results: the second one holds the rows.
      const results = (Array.isArray(result) ? result : [result]) as { rows: unknown[] }[];
      return results.at(-1)!.rows as Rows;
    },
  };
}

async function addColumnsWithDefaults(source: Side, replica: Side): Promise<void> {
  await source.query(`CREATE TABLE items (id int PRIMARY KEY, name varchar(20) NOT NULL)`);
  const values = Array.from({ length: 50 }, (_, i) => `(${i + 1}, 'item ${i + 1}')`).join(', ');
  await source.query(`INSERT INTO items VALUES ${values}`);

  const pipeline = await createTestPipeline({
    prefix: 'defaults',
    source: { kind: source.kind, url: source.url, tables: [`${source.schema}.items`] },
    replica: { kind: replica.kind, url: replica.url },
    onError: 'stop',
  });
  cleanups.push(() => pipeline.cleanup());
  const running = await startPipeline(
    pipeline.config,
    createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }),
    { api: false },
  );
  cleanups.push(() => running.stop());
  const replicaRows = async (where = '') =>
    replica.query(`SELECT * FROM items ${where} ORDER BY id`).catch((): Rows => []);
  await waitFor('the replica to hold the 50 rows', async () => (await replicaRows()).length === 50, {
    timeoutMs: 120_000,
    intervalMs: 250,
  });

  await source.query(
    `ALTER TABLE items ADD COLUMN qty int NOT NULL DEFAULT 0, ADD COLUMN tag varchar(20) DEFAULT 'new',
       ADD COLUMN since date DEFAULT '2024-01-01'`,
  );
  // One write of the new shape: the replica adds the columns when it applies it. The 50 rows stay untouched.
  await source.query(`INSERT INTO items (id, name, qty, tag) VALUES (1000, 'marker', 5, 'marked')`);
  await waitFor(
    'the replica to hold the new row with its new columns',
    async () => (await replicaRows('WHERE id = 1000'))[0]?.tag === 'marked',
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  assert.equal(running.workers()[0]?.deadLetters ?? 0, 0);

  const [first] = await replicaRows('WHERE id = 1');
  assert.deepEqual(
    { qty: first?.qty, tag: first?.tag, since: first?.since },
    { qty: '0', tag: 'new', since: '2024-01-01' },
    'a row written before the columns were added has their defaults on the replica, as on the source',
  );
  const report = await verifyDatabases({
    sourceName: pipeline.sourceName,
    replicaName: pipeline.replicaName,
    sourceUrl: source.url,
    targetUrl: replica.url,
    tables: [`${source.schema}.items`],
  });
  assert.ok(report.equal, JSON.stringify({ failures: report.failures, tables: report.tables }, null, 1));
  assert.equal(report.tables[0]?.sourceRows, 51);
}

test('MariaDB → PostgreSQL: added columns with constant defaults verify equal without touching the rows', async () => {
  const source = await mariadbSide('dflt_src');
  await addColumnsWithDefaults(source, await postgresSide('dflt_dst', source.schema));
});

test('PostgreSQL → PostgreSQL: added columns with constant defaults verify equal without touching the rows', async () => {
  await addColumnsWithDefaults(await postgresSide('dflt_src'), await postgresSide('dflt_dst'));
});

test('PostgreSQL → MariaDB: added columns with constant defaults verify equal without touching the rows', async () => {
  const replica = await mariadbSide('dflt_dst');
  await addColumnsWithDefaults(await postgresSide('dflt_src', replica.schema), replica);
});
