/**
 * Every listed PostgreSQL type round-trips through capture, Avro, Kafka and apply to the replica unchanged,
 * and schema changes on the source (ADD COLUMN, DROP COLUMN, a type change, TRUNCATE) reach the replica.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline | null = null;

const TYPES: readonly (readonly [string, string])[] = [
  ['int2', '-32768'],
  ['int4', '2147483647'],
  ['int8', '9223372036854775807'],
  ['numeric(38,10)', '1234567890123456789012345678.0123456789'],
  ['numeric', "'NaN'"],
  ['numeric(5,-2)', '12345'],
  ['numeric(3,5)', '0.00123'],
  ['float4', '3.25'],
  ['float8', "'-Infinity'"],
  ['boolean', 'true'],
  ['text', "E'multi\\nline ''quoted'' \\\\ 😀'"],
  ['varchar(20)', "''"],
  ['char(3)', "'ab'"],
  ['bytea', "'\\x00ff10'"],
  ['date', "'2024-02-29'"],
  ['time(6)', "'23:59:59.999999'"],
  ['timetz', "'12:00:00+05:30'"],
  ['timestamp(6)', "'1999-12-31 23:59:59.123456'"],
  ['timestamptz(6)', "'2024-06-01 12:00:00.000001+02'"],
  ['timestamp', "'infinity'"],
  ['interval', "'1 year 2 mons 3 days 04:05:06.789'"],
  ['uuid', "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"],
  ['json', `'{"b": 1, "a": [1, 2.50, null]}'`],
  ['jsonb', `'{"k": "v", "n": 1e3}'`],
  ['int4[]', "'{1,NULL,3}'"],
  ['text[]', `'{"a,b","c\\"d",NULL}'`],
  ['int8[][]', "'{{1,2},{3,4}}'"],
  ['mood', "'happy'"],
  ['inet', "'192.168.1.0/24'"],
];

before(async () => {
  source = await createDatabase('types_src');
  replica = await createDatabase('types_dst');
  await source.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
  const columns = TYPES.map(([type], i) => `c${i} ${type}`).join(', ');
  await source.query(`CREATE TABLE typed (id int PRIMARY KEY, ${columns})`);
});

after(async () => {
  await pipeline?.stop();
  await source.drop();
  await replica.drop();
});

async function replicaEquals(table: string): Promise<void> {
  const expected = await tableContent(source, table, 'id');
  await waitFor(
    `replica ${table} to equal the source`,
    async () => {
      return JSON.stringify(await tableContent(replica, table, 'id')) === JSON.stringify(expected);
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

test('every type round-trips, and ADD/DROP COLUMN, a type change and TRUNCATE reach the replica', async () => {
  const values = TYPES.map(([, literal]) => literal).join(', ');
  // Row 1 arrives through the snapshot, rows 2-3 through the stream; row 3 is all NULLs.
  await source.query(`INSERT INTO typed VALUES (1, ${values})`);
  const name = uniqueName('types').replaceAll('_', '-');
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
        },
      ],
      replicas: [{ name: 'dst', source: 'src', kind: 'postgres', url: replica.url, onError: 'stop' }],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  await source.query(`INSERT INTO typed VALUES (2, ${values})`);
  await source.query(`INSERT INTO typed (id) VALUES (3)`);
  await replicaEquals('typed');

  await source.query(`CREATE TABLE evolving (id bigint PRIMARY KEY, a text, b int)`);
  await source.query(`INSERT INTO evolving VALUES (1, 'one', 1), (2, 'two', 2)`);
  await replicaEquals('evolving');
  await source.query(`ALTER TABLE evolving ADD COLUMN c numeric(10,2) DEFAULT 1.5`);
  await source.query(`INSERT INTO evolving VALUES (3, 'three', 3, 3.25)`);
  await source.query(`ALTER TABLE evolving DROP COLUMN a`);
  await source.query(`UPDATE evolving SET b = b * 10`);
  await source.query(`ALTER TABLE evolving ALTER COLUMN b TYPE bigint`);
  await source.query(`INSERT INTO evolving VALUES (4, 4000000000, 4.5)`);
  await replicaEquals('evolving');
  const columns = await replica.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'evolving' ORDER BY ordinal_position`,
  );
  assert.deepEqual(
    columns.rows.map((row) => `${row.column_name} ${row.data_type}`),
    ['id bigint', 'b bigint', 'c numeric'],
  );

  await source.query(`TRUNCATE typed`);
  await replicaEquals('typed');
  assert.equal(pipeline.workers()[0]?.deadLetters, 0);
});
