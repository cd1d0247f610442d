/**
 * A PostgreSQL replica fed a changelog whose schemas carry hostile type texts and overlong names
 * (test/support/hostile-schema.ts). Without the schema check, the type `int); DROP TABLE victim; --` ran as a
 * second statement of the replica's CREATE TABLE and dropped an unrelated table, and a 64-byte column name was
 * cut to 63 bytes without a word. Now both tables are refused before any DDL, their events dead-lettered with a
 * reason naming table, column and text, while the healthy table beside them is replicated whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  applyHostileStream,
  assertRefusedLetters,
  HEALTHY_ROWS,
  NOTE_COLUMN,
  type HostileTarget,
} from '../../support/hostile-schema.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
  await db.query('CREATE TABLE public.victim (id integer PRIMARY KEY, name text NOT NULL)');
  await db.query(`INSERT INTO public.victim VALUES (1, 'kept'), (2, 'kept too')`);
});

after(async () => {
  await db.drop([]);
});

test('a hostile column type and an overlong name are refused and dead-lettered; the victim table and the healthy table are intact', async () => {
  const target: HostileTarget = {
    kind: 'postgres',
    url: db.url,
    dialect: 'postgres',
    schema: 'shop',
    idType: 'bigint',
    noteType: 'text',
    hostileType: 'int); DROP TABLE victim; --',
    overlongName: `c${'x'.repeat(63)}`,
    healthyRows: async () =>
      Number((await db.query('SELECT count(*) AS n FROM shop.good').catch(() => [{ n: '0' }]))[0]?.n),
  };
  const run = await applyHostileStream(target);

  assert.deepEqual(
    await db.query('SELECT id, name FROM public.victim ORDER BY id'),
    [
      { id: '1', name: 'kept' },
      { id: '2', name: 'kept too' },
    ],
    'the victim table still holds its rows',
  );
  assert.deepEqual(
    (await db.query(`SELECT id, ${pg.escapeIdentifier(NOTE_COLUMN)} AS note FROM shop.good ORDER BY id`)).map(
      (row) => `${row.id}:${row.note}`,
    ),
    Array.from({ length: HEALTHY_ROWS }, (_, n) => `${n + 1}:row ${n + 1}`),
    'the healthy table is replicated whole',
  );
  assert.deepEqual(
    await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY 1`),
    [{ table_name: 'good' }],
    'no DDL ran for the refused tables',
  );

  assertRefusedLetters(run, target, {
    typeWhy: 'is not a PostgreSQL type: a statement separator (;) at offset 4',
    nameWhy:
      'is 64 bytes long; PostgreSQL names are at most 63 bytes (a longer one is cut and could name another object)',
  });
});
