/**
 * Debezium's own JDBC sink connector (3.6.0.Final, in Kafka Connect standalone) reads our per-table topic and
 * keeps a PostgreSQL table: after inserts, updates, deletes and a key change on the source, the sink's table
 * equals the source's, value for value (integers, numeric, text, timestamp, timestamptz, boolean, json, uuid,
 * NULLs).
 */
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { startJdbcSink, type RunningConnect } from '../../support/kafka-connect.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const TABLE = `CREATE TABLE items (
  id bigint PRIMARY KEY, n integer NOT NULL, amount numeric(12,2), note text, at timestamp,
  atz timestamptz, flag boolean, doc json, u uuid)`;

let source: TestDatabase;
let sink: TestDatabase;
let pipeline: RunningPipeline | null = null;
let connect: RunningConnect | null = null;
const name = uniqueName('jdbc').replaceAll('_', '-');

before(async () => {
  source = await createDatabase('jdbc_src');
  sink = await createDatabase('jdbc_dst');
  await source.query(TABLE);
  await sink.query(TABLE);
  await source.query(`INSERT INTO items SELECT g, g * 10, g * 1.25, CASE WHEN g % 3 = 0 THEN NULL ELSE 'row ' || g END,
    '2024-01-01 00:00:00'::timestamp + g * interval '1 hour 1.000003 second',
    '2024-06-01 12:00:00+02'::timestamptz + g * interval '1 day 0.5 second',
    g % 2 = 0, json_build_object('g', g), md5(g::text)::uuid FROM generate_series(1, 50) g`);
});

after(async () => {
  await connect?.stop();
  await pipeline?.stop();
  await source.drop();
  await sink.drop();
});

test("Debezium's JDBC sink keeps a PostgreSQL table equal to the source from our per-table topic", async () => {
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
      sources: [
        {
          name: 'src',
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          heartbeatIntervalMs: 500,
          subscriberTopics: { partitions: 3 },
        },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  const running = pipeline;
  await waitFor('the snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  const sinkUrl = new URL(sink.url);
  connect = await startJdbcSink({
    brokers: stack.kafkaBrokers,
    topics: [`${name}.src.public.items`],
    jdbcUrl: `jdbc:postgresql://${sinkUrl.host}${sinkUrl.pathname}`,
    user: decodeURIComponent(sinkUrl.username),
    extra: { 'collection.name.format': 'items', 'table.name.format': 'items' },
  });
  await source.query(`INSERT INTO items (id, n, amount, note, atz) SELECT g, g, -g * 0.01, NULL, now()
    FROM generate_series(51, 60) g`);
  await source.query(
    `UPDATE items SET n = n + 1, note = 'updated', doc = '{"changed": true}' WHERE id <= 10`,
  );
  await source.query(`DELETE FROM items WHERE id BETWEEN 11 AND 15`);
  await source.query(`BEGIN; UPDATE items SET amount = 99999.99, flag = NULL WHERE id = 1;
    DELETE FROM items WHERE id = 51; UPDATE items SET id = 100 WHERE id = 20; COMMIT`);

  const expected = JSON.stringify(await tableContent(source, 'items', 'id'));
  const sinkConnect = connect;
  await waitFor(
    'the sink table to equal the source',
    async () => {
      const states = await sinkConnect.taskStates();
      if (states.some((state) => state.startsWith('FAILED'))) throw new Error(states.join('\n'));
      return JSON.stringify(await tableContent(sink, 'items', 'id')) === expected;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
});
