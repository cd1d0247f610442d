/**
 * PostgreSQL user-defined types through the whole pipeline: a table whose columns use domains, enums, a
 * composite, ranges over a custom subtype and over float8, arrays of each and a multirange, with types in a
 * second schema, reaches a PostgreSQL replica row for row (the replica creates the types first) and a MariaDB
 * replica with the mapping of docs/type-mapping.md. While streaming, an enum gains a label, a composite an
 * attribute, and a new table arrives with new types; all of it reaches both replicas.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor, waitForEqual } from '../../support/wait.ts';

let source: TestDatabase;
let replica: TestDatabase;
let maria: MariadbTestDatabase;
let pipeline: RunningPipeline | null = null;
const sourceName = uniqueName('utsrc').replaceAll('_', '-');

const COLUMNS = `qty, code, mood, addr, moods, span, qtys, moodlist, addrs, ranges, multi`;

before(async () => {
  source = await createDatabase('utypes_src');
  replica = await createDatabase('utypes_dst');
  maria = await createMariadbDatabase('utypes_mdst');
  await source.query(`CREATE SCHEMA inv`);
  await source.query(`CREATE DOMAIN public.posint AS integer CHECK (VALUE > 0)`);
  await source.query(`CREATE DOMAIN inv.code AS varchar(8) NOT NULL CHECK (VALUE ~ '^[A-Z]+$')`);
  await source.query(`CREATE TYPE inv.mood AS ENUM ('sad', 'ok', 'happy')`);
  await source.query(`CREATE TYPE public.address AS (street text, number public.posint, mood inv.mood)`);
  await source.query(`CREATE TYPE public.moodrange AS RANGE (subtype = inv.mood)`);
  await source.query(`CREATE TYPE inv.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi)`);
  await source.query(`CREATE TABLE public.things (
    id int PRIMARY KEY, qty public.posint, code inv.code, mood inv.mood, addr public.address,
    moods public.moodrange, span inv.floatrange, qtys public.posint[], moodlist inv.mood[],
    addrs public.address[], ranges public.moodrange[], multi public.moodmultirange)`);
});

after(async () => {
  await pipeline?.stop();
  await forgetMariadbAppliedPosition(sourceName);
  await source.drop();
  await replica.drop();
  await maria.drop();
});

function failedWorker(): string | null {
  const failed = pipeline?.workers().find((worker) => worker.state === 'failed' || worker.deadLetters > 0);
  return failed ? `${failed.name}: ${failed.lastError ?? `${failed.deadLetters} dead letters`}` : null;
}

async function replicaEquals(table: string): Promise<void> {
  const expected = await tableContent(source, table, 'id');
  await waitFor(
    `PostgreSQL replica ${table} to equal the source`,
    async () => {
      const failed = failedWorker();
      if (failed) throw new Error(failed);
      return JSON.stringify(await tableContent(replica, table, 'id')) === JSON.stringify(expected);
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * An array column as a JSON array of its elements' text: a NULL element stays null (unnest would make a NULL
 * composite a row of NULLs), an empty array is [].
 */
const elementsAsText = (column: string) =>
  `CASE WHEN ${column} IS NOT NULL THEN COALESCE((SELECT json_agg(${column}[i]::text ORDER BY i)
     FROM generate_subscripts(${column}, 1) i), '[]')::text END`;

/** The source's rows as the MariaDB replica should hold them: scalars as text, arrays as JSON arrays. */
async function expectedMariadbThings(): Promise<unknown[]> {
  const result = await source.query<Record<string, string | null>>(
    `SELECT id::text, qty::text, code::text, mood::text, addr::text, moods::text, span::text,
            array_to_json(qtys)::text AS qtys, array_to_json(moodlist)::text AS moodlist,
            ${elementsAsText('addrs')} AS addrs, ${elementsAsText('ranges')} AS ranges, multi::text
       FROM public.things ORDER BY id`,
  );
  return result.rows.map(parseJsonColumns);
}

async function mariadbThings(): Promise<unknown[]> {
  const rows = await maria.query(`SELECT id, ${COLUMNS} FROM \`${maria.name}\`.things ORDER BY id`);
  return rows.map(parseJsonColumns);
}

function parseJsonColumns(row: Record<string, string | null>): unknown {
  const parsed: Record<string, unknown> = { ...row };
  for (const column of ['qtys', 'moodlist', 'addrs', 'ranges']) {
    const text = row[column];
    parsed[column] = text === null || text === undefined ? null : (JSON.parse(text) as unknown);
  }
  return parsed;
}

async function mariadbEquals(): Promise<void> {
  await waitForEqual(
    'MariaDB replica things to equal the source',
    async () => {
      const failed = failedWorker();
      if (failed) throw new Error(failed);
      return await mariadbThings().catch(() => null);
    },
    await expectedMariadbThings(),
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

async function mariadbColumnTypes(table: string): Promise<Record<string, string>> {
  const rows = await maria.query(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [maria.name, table],
  );
  return Object.fromEntries(rows.map((row) => [String(row.name), String(row.type)]));
}

const ROW_1 = `(1, 5, 'ABC', 'ok', ROW('Main St, 1', 7, 'happy'), '[sad,happy)', '[1.5,2.5)', '{1,2,NULL}',
  '{sad,happy}', ARRAY[ROW('a "b"', 1, 'sad')::public.address, NULL], ARRAY['[sad,ok)'::public.moodrange],
  '{[sad,ok), [happy,happy]}')`;
const ROW_2 = `(2, 2147483647, 'XYZ', 'happy', ROW(NULL, NULL, NULL), 'empty', '(,0]', '{}', '{ok,NULL}',
  ARRAY[ROW('x\\y', 2, 'ok')::public.address], '{}', '{}')`;

test('domains, enums, composites, ranges and arrays of them reach PostgreSQL and MariaDB replicas', async () => {
  // Row 1 arrives through the snapshot, rows 2 and 3 through the stream.
  await source.query(`INSERT INTO public.things VALUES ${ROW_1}`);
  const name = uniqueName('utypes').replaceAll('_', '-');
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
      sources: [
        {
          name: sourceName,
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          tables: ['public.*', 'inv.*'],
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [
        { name: 'pg', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' },
        { name: 'maria', source: sourceName, kind: 'mariadb', url: maria.url, onError: 'stop' },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  await source.query(`INSERT INTO public.things VALUES ${ROW_2}`);
  await source.query(`INSERT INTO public.things (id, code) VALUES (3, 'NULLS')`);
  await replicaEquals('public.things');
  await mariadbEquals();

  // The replica's types are the source's: same enum labels in order, the domain's constraints, the range.
  const typeFacts = async (db: TestDatabase): Promise<unknown> =>
    (
      await db.query(`SELECT enum_range(NULL::inv.mood)::text AS labels,
        (SELECT string_agg(pg_get_constraintdef(oid), ' ' ORDER BY conname) FROM pg_constraint
          WHERE contypid = 'inv.code'::regtype) AS checks,
        (SELECT typnotnull FROM pg_type WHERE oid = 'inv.code'::regtype) AS not_null,
        format_type('inv.floatrange'::regtype, NULL) AS range`)
    ).rows;
  assert.deepEqual(await typeFacts(replica), await typeFacts(source));
  assert.deepEqual(await mariadbColumnTypes('things'), {
    id: 'int(11)',
    qty: 'int(11)',
    code: 'varchar(8)',
    mood: "enum('sad','ok','happy')",
    addr: 'longtext',
    moods: 'longtext',
    span: 'longtext',
    qtys: 'longtext',
    moodlist: 'longtext',
    addrs: 'longtext',
    ranges: 'longtext',
    multi: 'longtext',
  });

  // Types changed while streaming: an enum label (placed first), a composite attribute; then changes using them.
  await source.query(`ALTER TYPE inv.mood ADD VALUE 'angry' BEFORE 'sad'`);
  await source.query(`ALTER TYPE public.address ADD ATTRIBUTE zip text`);
  await source.query(`INSERT INTO public.things (id, code, mood, addr, moodlist, moods)
    VALUES (4, 'NEW', 'angry', ROW('Side St', 3, 'angry', '12345'), '{angry,sad}', '[angry,ok]')`);
  await source.query(
    `UPDATE public.things SET mood = 'angry', addr = ROW('Main St, 1', 8, 'ok', NULL) WHERE id = 1`,
  );
  await source.query(`DELETE FROM public.things WHERE id = 2`);
  await replicaEquals('public.things');
  // A label used only inside other values: a composite's attribute, a range bound, a multirange. (The
  // description read for row 4 must not see it already, hence the wait above.)
  await source.query(`ALTER TYPE inv.mood ADD VALUE 'calm' AFTER 'ok'`);
  await source.query(
    `UPDATE public.things SET addr = ROW('Calm St', 9, 'calm', NULL), moods = '[calm,happy]', multi = '{[sad,calm)}' WHERE id = 3`,
  );
  await replicaEquals('public.things');
  await mariadbEquals();
  assert.deepEqual(await typeFacts(replica), await typeFacts(source));
  assert.equal((await mariadbColumnTypes('things')).mood, "enum('angry','sad','ok','calm','happy')");

  // A table created while streaming, with types created while streaming, in the second schema.
  await source.query(`CREATE TYPE inv.size AS ENUM ('s', 'm', 'l')`);
  await source.query(`CREATE DOMAIN public.percent AS numeric(5,2) CHECK (VALUE BETWEEN 0 AND 100)`);
  await source.query(
    `CREATE TABLE inv.later (id int PRIMARY KEY, size inv.size, pct public.percent, sizes inv.size[])`,
  );
  await source.query(`INSERT INTO inv.later VALUES (1, 'm', 12.5, '{s,l}'), (2, NULL, NULL, NULL)`);
  await replicaEquals('inv.later');
  const later = [
    { id: '1', size: 'm', pct: '12.50', sizes: ['s', 'l'] },
    { id: '2', size: null, pct: null, sizes: null },
  ];
  await waitForEqual(
    'MariaDB replica to hold inv.later',
    async () => {
      const rows = await maria
        .query(`SELECT id, size, pct, sizes FROM \`${maria.name}\`.later ORDER BY id`)
        .catch(() => []);
      const parsed = rows.map((row) => ({
        ...row,
        sizes: row.sizes ? (JSON.parse(row.sizes) as unknown) : null,
      }));
      return parsed;
    },
    later,
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  assert.deepEqual(await mariadbColumnTypes('later'), {
    id: 'int(11)',
    size: "enum('s','m','l')",
    pct: 'decimal(5,2)',
    sizes: 'longtext',
  });
  assert.equal(failedWorker(), null);
});
