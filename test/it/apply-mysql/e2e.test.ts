/**
 * Cross-dialect replicas end to end on the real stack, through Kafka with startPipeline: a MariaDB source
 * replicated into PostgreSQL, and a PostgreSQL source replicated into MariaDB. Each takes an initial snapshot,
 * then streams inserts, updates (a key change too), deletes; afterwards the replica's rows, normalized to
 * one text form, equal the source's.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { forgetMariadbAppliedPosition } from '../../support/mariadb.ts';
import { createDatabase as createPgDatabase, dropOriginsOf } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { createDatabase as createMariadbDatabase } from '../mysql/harness.ts';
import { asText, createTargetDatabase } from './harness.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

async function run(config: unknown): Promise<RunningPipeline> {
  const pipeline = await startPipeline(parseConfig(JSON.stringify(config), 'json'), logger, { api: false });
  cleanups.push(() => pipeline.stop());
  return pipeline;
}

async function waitEqual(
  what: string,
  source: () => Promise<unknown>,
  replica: () => Promise<unknown>,
): Promise<void> {
  const expected = JSON.stringify(await source());
  let seen = '';
  await waitFor(
    what,
    async () => {
      seen = JSON.stringify(await replica().catch((error: unknown) => String(error)));
      return seen === expected;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  ).catch((error: unknown) => {
    assert.equal(seen, expected, `${what}: ${String(error)}`);
  });
}

void describe('cross-dialect replicas through Kafka', () => {
  void test('MariaDB source → Kafka → PostgreSQL replica', async () => {
    const source = await createMariadbDatabase('x_src');
    cleanups.push(() => source.drop());
    const replica = await createPgDatabase('x_dst');
    cleanups.push(() => replica.drop());
    const sourceName = uniqueName('maria').replaceAll('_', '-');
    cleanups.push(() => dropOriginsOf(sourceName));
    await source.sql.query(`CREATE TABLE items (
      id bigint unsigned PRIMARY KEY, name varchar(40) NOT NULL, price decimal(12,2), at datetime(6), doc json, flag tinyint(1))`);
    await source.sql.query(
      `INSERT INTO items VALUES (18446744073709551615, 'max', 1.50, '2024-01-02 03:04:05.123456', '{"a": 1}', 1), (1, 'one', NULL, NULL, NULL, 0)`,
    );
    const prefix = uniqueName('xm').replaceAll('_', '-');
    const pipeline = await run({
      name: prefix,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
      sources: [
        {
          name: sourceName,
          kind: 'mariadb',
          url: `${stack.mariadbUrl}${source.name}`,
          serverId: 60_000 + Math.floor(Math.random() * 1_000_000),
          snapshotChunkRows: 100,
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [{ name: 'pg', source: sourceName, kind: 'postgres', url: replica.url }],
    });
    const sourceRows = async () => {
      const [rows] = await source.sql.query(
        `SELECT CAST(id AS CHAR) id, name, CAST(price AS CHAR) price, CAST(at AS CHAR) at, CAST(doc AS CHAR) doc, CAST(flag AS CHAR) flag FROM items ORDER BY id`,
      );
      return (rows as Record<string, unknown>[]).map((row) => Object.values(row).map(asText));
    };
    const replicaRows = async () => {
      const result = await replica.query(
        `SELECT id::text, name, price::text, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US') AS at, doc::text, flag::text FROM ${JSON.stringify(source.name)}.items ORDER BY id`,
      );
      return result.rows.map((row) => Object.values(row as Record<string, unknown>).map(asText));
    };
    await waitEqual(
      'the PostgreSQL replica to equal the MariaDB source after the snapshot',
      sourceRows,
      replicaRows,
    );

    await source.sql.query(
      `INSERT INTO items VALUES (2, 'two', 2.25, '2024-02-29 23:59:59.000001', '{"b": [1, 2]}', 1)`,
    );
    await source.sql.query(`UPDATE items SET name = 'uno', price = 9.99 WHERE id = 1`);
    await source.sql.query(
      `BEGIN; UPDATE items SET id = 3 WHERE id = 2; DELETE FROM items WHERE id = 1; COMMIT`,
    );
    await waitEqual(
      'the PostgreSQL replica to equal the MariaDB source after streaming',
      sourceRows,
      replicaRows,
    );
    assert.equal(pipeline.workers()[0]?.deadLetters, 0);
  });

  void test('PostgreSQL source → Kafka → MariaDB replica', async () => {
    const source = await createPgDatabase('x_pgsrc');
    cleanups.push(() => source.drop());
    const target = await createTargetDatabase('x_mdst');
    cleanups.push(() => target.drop());
    const sourceName = uniqueName('pgsrc').replaceAll('_', '-');
    await source.query(`CREATE TABLE items (
      id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), at timestamptz(6), tags text[], doc jsonb, flag boolean)`);
    await source.query(
      `INSERT INTO items VALUES (9223372036854775807, 'max', 1.50, '2024-01-02 03:04:05.123456+02', ARRAY['a', 'b c'], '{"a": 1}', true),
                               (1, 'one', NULL, NULL, NULL, NULL, false)`,
    );
    const prefix = uniqueName('xp').replaceAll('_', '-');
    const pipeline = await run({
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
        { name: 'maria', source: sourceName, kind: 'mariadb', url: `${stack.mariadbUrl}${target.name}` },
      ],
    });
    cleanups.push(async () => {
      await forgetMariadbAppliedPosition(sourceName);
    });
    const sourceRows = async () => {
      const result = await source.query(
        `SELECT id::text, name, price::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, array_to_json(tags)::text AS tags, doc::text, flag::int::text AS flag FROM items ORDER BY id`,
      );
      return result.rows.map((row) => Object.values(row as Record<string, unknown>).map(asText));
    };
    const replicaRows = async () =>
      (
        await target.rows(
          `SELECT id, name, price, at, tags, doc, flag FROM \`${target.name}\`.\`items\` ORDER BY id`,
        )
      ).map((row) => Object.values(row));
    await waitEqual(
      'the MariaDB replica to equal the PostgreSQL source after the snapshot',
      sourceRows,
      replicaRows,
    );

    await source.query(
      `INSERT INTO items VALUES (2, 'two', 2.25, '2024-02-29 23:59:59.000001+00', ARRAY['x'], '{"b": [1, 2]}', true)`,
    );
    await source.query(`UPDATE items SET name = 'uno', price = 9.99 WHERE id = 1`);
    await source.query(`BEGIN; UPDATE items SET id = 3 WHERE id = 2; DELETE FROM items WHERE id = 1; COMMIT`);
    await waitEqual(
      'the MariaDB replica to equal the PostgreSQL source after streaming',
      sourceRows,
      replicaRows,
    );
    assert.equal(pipeline.workers()[0]?.deadLetters, 0);
  });
});
