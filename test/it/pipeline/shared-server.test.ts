/**
 * Several replicas of one source on one server, as users keep a staging and an analytics copy: two PostgreSQL
 * replicas in two schemas of one database (`targetSchema`), and two MariaDB replicas in two databases of one
 * server. Each keeps its own applied position (the position table is shared by all of them) and its own
 * replication origin (origins are cluster-wide), so after a snapshot and streamed changes every replica equals
 * the source, and no worker stopped or dead-lettered anything.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, dropOriginsOf } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { createTargetDatabase } from '../apply-mysql/harness.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

void test('two PostgreSQL and two MariaDB replicas of one source on one server each equal the source', async () => {
  const source = await createDatabase('shared_src');
  cleanups.push(() => source.drop());
  const pgReplica = await createDatabase('shared_dst');
  cleanups.push(() => pgReplica.drop());
  const maria = [await createTargetDatabase('shared_m1'), await createTargetDatabase('shared_m2')];
  for (const database of maria) cleanups.push(() => database.drop());
  const sourceName = uniqueName('shared').replaceAll('_', '-');
  cleanups.push(() => dropOriginsOf(sourceName));

  await source.query('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty int)');
  await source.query(`INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 500) g`);
  const prefix = uniqueName('shared').replaceAll('_', '-');
  const pipeline = await startPipeline(
    parseConfig(
      JSON.stringify({
        name: prefix,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
        sources: [
          {
            name: sourceName,
            kind: 'postgres',
            url: source.url,
            slot: uniqueName('slot'),
            snapshotChunkRows: 100,
            heartbeatIntervalMs: 500,
          },
        ],
        replicas: [
          {
            name: 'staging',
            source: sourceName,
            kind: 'postgres',
            url: pgReplica.url,
            targetSchema: 'staging',
          },
          {
            name: 'analytics',
            source: sourceName,
            kind: 'postgres',
            url: pgReplica.url,
            targetSchema: 'analytics',
          },
          ...maria.map((database, index) => ({
            name: `maria-${index}`,
            source: sourceName,
            kind: 'mariadb',
            url: `${stack.mariadbUrl}${database.name}`,
          })),
        ],
      }),
      'json',
    ),
    logger,
    { api: false },
  );
  cleanups.push(() => pipeline.stop());

  const sourceRows = async () =>
    (await source.query('SELECT id::text, name, qty::text FROM items ORDER BY items.id')).rows.map(
      Object.values,
    );
  const replicas: [string, () => Promise<unknown[]>][] = [
    ...['staging', 'analytics'].map((schema): [string, () => Promise<unknown[]>] => [
      `PostgreSQL schema ${schema}`,
      async () =>
        (
          await pgReplica.query(`SELECT id::text, name, qty::text FROM ${schema}.items ORDER BY items.id`)
        ).rows.map(Object.values),
    ]),
    ...maria.map((database): [string, () => Promise<unknown[]>] => [
      `MariaDB database ${database.name}`,
      async () =>
        (await database.rows(`SELECT id, name, qty FROM \`${database.name}\`.items ORDER BY id`)).map(
          Object.values,
        ),
    ]),
  ];
  const allEqual = async (when: string): Promise<void> => {
    const expected = await sourceRows();
    for (const [what, rows] of replicas) {
      let seen: unknown[] = [];
      await waitFor(
        `the ${what} replica to equal the source ${when}`,
        async () => {
          seen = await rows().catch((error: unknown) => [String(error)]);
          return JSON.stringify(seen) === JSON.stringify(expected);
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ).catch(() => assert.fail(`${what} ${when}: ${firstDifference(seen, expected)}`));
    }
  };
  await allEqual('after the snapshot');

  // Many small transactions: each worker must apply every one of them, none skipped for another's position.
  for (let round = 0; round < 20; round++) {
    await source.query(`INSERT INTO items VALUES (${1000 + round}, 'new ${round}', ${round})`);
    await source.query(`UPDATE items SET qty = qty + 1 WHERE id % 20 = ${round}`);
    await source.query(`DELETE FROM items WHERE id = ${round * 7 + 1}`);
  }
  await allEqual('after streaming');
  for (const worker of pipeline.workers()) {
    assert.equal(
      worker.state,
      'running',
      `worker ${worker.name} is ${worker.state}: ${worker.lastError ?? ''}`,
    );
    assert.equal(worker.deadLetters, 0, `worker ${worker.name} dead-lettered changes`);
  }
});

function firstDifference(seen: unknown[], expected: unknown[]): string {
  const at = expected.findIndex((row, index) => JSON.stringify(row) !== JSON.stringify(seen[index]));
  return `${seen.length} rows, the source has ${expected.length}; first difference at row ${at}: ${JSON.stringify(seen[at] ?? null)}, the source's ${JSON.stringify(expected[at] ?? null)}`;
}
