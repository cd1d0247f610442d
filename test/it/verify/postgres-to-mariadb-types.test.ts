/**
 * Verification of a MariaDB replica that the pipeline filled from PostgreSQL, for the values whose form changes
 * across the dialects (docs/type-mapping.md): arrays of every element kind (they become JSON arrays), a declared
 * two-dimensional array (kept as PostgreSQL's text), a domain over an array, arrays of domains, enums,
 * composites and ranges, and scalars of those user types. Equal rows are reported equal, through
 * `verifyReplica` as `cdc verify` runs it (which also finds the tables in the replica's database); one changed
 * array element is reported as that row, and nothing else.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { verifyReplica } from '../../../services/verify/verify-replica.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const ROWS = 406;

let source: TestDatabase;
let maria: MariadbTestDatabase;
let pipeline: RunningPipeline | null = null;
let config: PipelineConfig;
const sourceName = uniqueName('vtsrc').replaceAll('_', '-');

before(async () => {
  source = await createDatabase('vtypes_src');
  maria = await createMariadbDatabase('vtypes_mdst');
  await source.query(`CREATE SCHEMA inv`);
  await source.query(`CREATE DOMAIN public.posint AS integer CHECK (VALUE > 0)`);
  await source.query(`CREATE DOMAIN public.intlist AS integer[]`);
  await source.query(`CREATE TYPE inv.mood AS ENUM ('sad', 'ok', 'happy')`);
  await source.query(`CREATE TYPE public.address AS (street text, number public.posint, mood inv.mood)`);
  await source.query(`CREATE TABLE public.things (
    id int PRIMARY KEY, tags text[], nums bigint[], ints integer[], amounts numeric(10,2)[], flags boolean[],
    ratios float8[], reals real[], days date[], stamps timestamptz[], locals timestamp(3)[], raw bytea[],
    docs jsonb[], ids uuid[], moods inv.mood[], qtys public.posint[], addrs public.address[],
    spans int4range[], grid integer[][], list public.intlist, mood inv.mood, addr public.address,
    span int4range, qty public.posint, iv interval, ttz timetz)`);
  config = parseConfig(
    JSON.stringify({
      name: sourceName,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: sourceName },
      sources: [
        {
          name: sourceName,
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          tables: ['public.*'],
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [{ name: 'maria', source: sourceName, kind: 'mariadb', url: maria.url, onError: 'stop' }],
      api: { port: 0 },
    }),
    'json',
  );
});

after(async () => {
  await pipeline?.stop();
  await forgetMariadbAppliedPosition(sourceName);
  await source.drop();
  await maria.drop();
});

/** Rows `from`..`to`, every column filled from `g` with values that take each form the mapping has. */
function insertRows(from: number, to: number): string {
  return `INSERT INTO public.things
    SELECT g,
      ARRAY['a', 'b c', 'd"e', NULL, 'f\\g', '', 'ü' || g, '{x}'],
      ARRAY[9007199254740993 + g, -g]::bigint[],
      CASE WHEN g % 5 = 0 THEN '{}'::int[] ELSE ARRAY[g, NULL, -g] END,
      ARRAY[g / 4.0, 1.5, -0.1]::numeric(10,2)[],
      ARRAY[g % 2 = 0, NULL, true],
      ARRAY[g / 7.0, 1e300, -0.0]::float8[],
      ARRAY[g / 7.0, 0.1]::real[],
      ARRAY[date '2024-02-29' + g, NULL],
      ARRAY[timestamptz '2024-01-02 03:04:05.123456+05:30' + g * interval '1 hour'],
      ARRAY[timestamp '1999-12-31 23:59:59.5' + g * interval '1 ms'],
      ARRAY[decode(lpad(to_hex(g), 4, '0'), 'hex'), '\\x'::bytea, NULL],
      ARRAY[jsonb_build_object('n', g, 'b', jsonb_build_array(1, 2.50)), 'null'::jsonb],
      ARRAY[md5(g::text)::uuid],
      ARRAY['sad', NULL, (ARRAY['ok', 'happy'])[g % 2 + 1]]::inv.mood[],
      ARRAY[g, 1]::public.posint[],
      ARRAY[ROW('Main St, ' || g, g, 'ok')::public.address, NULL, ROW(NULL, NULL, NULL)::public.address],
      ARRAY[int4range(g, g + 10), 'empty'::int4range],
      ARRAY[[g, 2], [3, NULL]],
      ARRAY[g, g + 1]::public.intlist,
      'happy', ROW('x "y"', g, 'sad')::public.address, int4range(NULL, g), g,
      g * interval '1 day 2 hours', timetz '03:04:05+02'
    FROM generate_series(${from}, ${to}) g`;
}

async function mariadbRows(): Promise<number> {
  const rows = await maria
    .query(`SELECT COUNT(*) AS n FROM \`${maria.name}\`.things`)
    .catch(() => [{ n: '0' }]);
  return Number(rows[0]?.n ?? 0);
}

test('a MariaDB replica of PostgreSQL arrays and user types verifies equal; one changed element is found', async () => {
  // Half the rows arrive through the snapshot, half through the stream.
  await source.query(insertRows(1, ROWS / 2));
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  await source.query(insertRows(ROWS / 2 + 1, ROWS));
  await waitFor(
    `all ${ROWS} rows at the MariaDB replica`,
    async () => {
      const failed = pipeline?.workers().find((worker) => worker.state === 'failed');
      if (failed) throw new Error(`${failed.name}: ${failed.lastError}`);
      return (await mariadbRows()) === ROWS;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );

  const equal = await verifyReplica(config, { replica: 'maria', chunkRows: 100 });
  assert.deepEqual(equal.failures, []);
  const table = equal.tables[0];
  assert.equal(table?.targetTable, `${maria.name}.things`);
  assert.deepEqual(
    table?.differingRanges.map((range) => range.differentCount),
    [],
    'no row of equal data is reported different',
  );
  assert.equal(table?.sourceRows, ROWS);
  assert.equal(table?.targetRows, ROWS);
  assert.equal(equal.equal, true);

  // One element of one array changed on the replica: that row, and only it, differs.
  await maria.query(`UPDATE \`${maria.name}\`.things SET tags = JSON_SET(tags, '$[1]', 'b  c') WHERE id = 7`);
  const changed = await verifyReplica(config, { replica: 'maria', chunkRows: 100 });
  assert.equal(changed.equal, false);
  const ranges = changed.tables[0]?.differingRanges ?? [];
  assert.deepEqual(
    ranges.flatMap((range) => range.differentRows),
    [{ id: '7' }],
  );
  assert.deepEqual(
    ranges.map((range) => [range.missingCount, range.extraCount, range.differentCount]),
    [[0, 0, 1]],
  );
});
