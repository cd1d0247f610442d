/**
 * The PostgreSQL replica's user types on their own, against a real server: created dependencies first in
 * their own schemas, brought up to date by additions only (labels in the source's order, attributes,
 * checks), and a domain check the replica cannot create left out rather than refusing the type.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../../common/logger.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { UserType } from '../../../schemas/events/user-type.ts';
import { TargetTypes } from '../../../services/apply/postgres/user-types.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';

let replica: TestDatabase;
let client: pg.Client;

before(async () => {
  replica = await createDatabase('utypes_apply');
  client = new pg.Client({ connectionString: replica.url });
  await client.connect();
});

after(async () => {
  await client.end();
  await replica.drop();
});

function tableUsing(userTypes: readonly UserType[]): TableSchema {
  return {
    dialect: 'postgres',
    database: 'src',
    schema: 'public',
    table: 't',
    columns: [],
    key: [],
    beforeImage: 'key',
    userTypes,
  };
}

const mood = (labels: string[]): UserType => ({ kind: 'enum', schema: 'Inv Schema', name: 'Mood', labels });
const place = (attributes: { name: string; type: string }[]): UserType => ({
  kind: 'composite',
  schema: 'public',
  name: 'place',
  attributes,
});
const code = (checks: { name: string; definition: string }[]): UserType => ({
  kind: 'domain',
  schema: 'public',
  name: 'code',
  baseType: 'character varying(8)',
  notNull: true,
  checks,
});

async function text(sql: string): Promise<unknown> {
  return (await client.query<{ v: unknown }>(`SELECT (${sql})::text AS v`)).rows[0]?.v;
}

test('types are created, then completed by additions, and a check the replica cannot take is left out', async () => {
  const upper = { name: 'code_upper', definition: `CHECK (((VALUE)::text ~ '^[A-Z]+$'::text))` };
  const sourceOnly = { name: 'code_known', definition: 'CHECK (public.known_code(VALUE))' };
  const range: UserType = {
    kind: 'range',
    schema: 'public',
    name: 'moodrange',
    subtype: '"Inv Schema"."Mood"',
    multirange: { schema: 'public', name: 'moodmulti' },
  };
  const first = [
    mood(['sad', 'ok']),
    code([upper, sourceOnly]),
    place([
      { name: 'street', type: 'text' },
      { name: 'mood', type: '"Inv Schema"."Mood"' },
    ]),
    range,
  ];
  const types = new TargetTypes(createLogger({ level: 'silent' }));
  await types.ensure(client, [tableUsing(first)]);
  assert.equal(await text(`enum_range(NULL::"Inv Schema"."Mood")`), '{sad,ok}');
  assert.equal(await text(`'[sad,ok)'::public.moodrange`), '[sad,ok)');
  assert.equal(await text(`'{[sad,ok)}'::public.moodmulti`), '{[sad,ok)}');
  assert.equal(await text(`ROW('x', 'ok')::public.place`), '(x,ok)');
  assert.equal(
    await text(
      `(SELECT string_agg(conname, ',') FROM pg_constraint WHERE contypid = 'public.code'::regtype)`,
    ),
    'code_upper',
  );
  await assert.rejects(client.query(`SELECT 'abc'::public.code`), /violates check constraint "code_upper"/);
  await assert.rejects(client.query(`SELECT NULL::public.code`), /does not allow null values/);

  // The source adds labels before, between and after the old ones, an attribute, and a check.
  const second = [
    mood(['angry', 'sad', 'calm', 'ok', 'happy']),
    code([upper, { name: 'code_short', definition: 'CHECK ((length((VALUE)::text) < 6))' }]),
    place([
      { name: 'street', type: 'text' },
      { name: 'mood', type: '"Inv Schema"."Mood"' },
      { name: 'zip', type: 'public.code' },
    ]),
    range,
  ];
  await types.ensure(client, [tableUsing(second)]);
  assert.equal(await text(`enum_range(NULL::"Inv Schema"."Mood")`), '{angry,sad,calm,ok,happy}');
  assert.equal(await text(`ROW('x', 'calm', 'AB')::public.place`), '(x,calm,AB)');
  await assert.rejects(
    client.query(`SELECT 'ABCDEFG'::public.code`),
    /violates check constraint "code_short"/,
  );
});
