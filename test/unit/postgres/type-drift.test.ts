/**
 * When a row shows that a table's description is older than its user types: labels and attributes the
 * description lacks, wherever the value sits (arrays, composite attributes, range bounds, multiranges, domains).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pgoutput } from 'pg-logical-replication';
import type { PgTable } from '../../../connectors/postgres/types/catalog.ts';
import { compositeParts, TypeDrift } from '../../../connectors/postgres/types/type-drift.ts';
import type { TypesByText } from '../../../connectors/postgres/types/user-types.ts';
import type { UserType } from '../../../schemas/events/user-type.ts';

const mood: UserType = { kind: 'enum', schema: 'inv', name: 'mood', labels: ['sad', 'ok'] };
const feeling: UserType = {
  kind: 'domain',
  schema: 'public',
  name: 'feeling',
  baseType: 'inv.mood',
  notNull: false,
  checks: [],
};
const address: UserType = {
  kind: 'composite',
  schema: 'public',
  name: 'address',
  attributes: [
    { name: 'street', type: 'text' },
    { name: 'mood', type: 'public.feeling' },
  ],
};
const moodrange: UserType = { kind: 'range', schema: 'public', name: 'moodrange', subtype: 'inv.mood' };
const byText: TypesByText = new Map<string, UserType | { kind: 'multirange'; range: UserType }>([
  ['inv.mood', mood],
  ['public.feeling', feeling],
  ['public.address', address],
  ['public.moodrange', moodrange],
  ['public.moodmultirange', { kind: 'multirange', range: moodrange }],
]);

const COLUMNS = {
  m: 'inv.mood',
  f: 'public.feeling[]',
  a: 'public.address',
  as: 'public.address[]',
  r: 'public.moodrange',
  mr: 'public.moodmultirange',
  n: 'integer',
};

const table: PgTable = {
  oid: 1,
  identity: 'default',
  hasPrimaryKey: false,
  typesByText: byText,
  schema: {
    dialect: 'postgres',
    database: 'd',
    schema: 'public',
    table: 't',
    key: [],
    beforeImage: 'key',
    userTypes: [mood, feeling, address, moodrange],
    columns: Object.entries(COLUMNS).map(([name, sourceType]) => ({
      name,
      sourceType,
      type: { kind: 'text' },
      nullable: true,
    })),
  },
};

function insert(row: Record<string, string | null>): Pgoutput.MessageInsert {
  return { tag: 'insert', relation: {} as Pgoutput.MessageRelation, new: row };
}

/** Whether the row made the description be read again. */
async function reloads(row: Record<string, string | null>): Promise<boolean> {
  let reloaded = false;
  const fresh: PgTable = { ...table };
  const drift = new TypeDrift();
  const message = insert(row);
  if (!drift.drifted(table, message)) return false;
  const current = await drift.reload(message, () => {
    reloaded = true;
    return Promise.resolve(fresh);
  });
  assert.equal(current, fresh);
  return reloaded;
}

void describe('type drift', () => {
  void test('values the description knows read nothing again', async () => {
    assert.equal(
      await reloads({
        m: 'ok',
        f: '{sad,NULL}',
        a: '("Main St, 1",sad)',
        as: '{"(x,ok)",NULL,"(,)"}',
        r: '[sad,ok)',
        mr: '{[sad,ok), (,sad]}',
        n: '7',
      }),
      false,
    );
    assert.equal(await reloads({ m: null, r: 'empty', mr: '{}' }), false);
  });

  void test('a new label or attribute anywhere reads the table again', async () => {
    const rows: Record<string, string>[] = [
      { m: 'angry' },
      { f: '{sad,angry}' },
      { a: '(street,angry)' },
      { a: '(street,ok,12345)' },
      { as: '{"(x,ok)","(y,angry)"}' },
      { r: '[angry,ok)' },
      { r: '(,"angry")' },
      { mr: '{[sad,ok), [angry,angry]}' },
    ];
    for (const row of rows) assert.equal(await reloads(row), true, JSON.stringify(row));
  });

  void test('a description that still does not fit after reading it again is kept', async () => {
    const drift = new TypeDrift();
    let reads = 0;
    const reload = (): Promise<PgTable> => {
      reads++;
      return Promise.resolve({ ...table });
    };
    const message = insert({ m: 'renamed' });
    assert.ok(drift.drifted(table, message));
    const first = await drift.reload(message, reload);
    assert.equal(drift.drifted(first, message), false, 'the description read again is kept');
    assert.equal(reads, 1);
  });

  void test('composite text: fields split outside quotes, quotes and backslashes unescaped', () => {
    assert.deepEqual(compositeParts('(1,abc,)'), ['1', 'abc', null]);
    assert.deepEqual(compositeParts('("Main St, 1",7,"")'), ['Main St, 1', '7', '']);
    assert.deepEqual(compositeParts('("say ""hi"", ok",2)'), ['say "hi", ok', '2']);
    assert.deepEqual(compositeParts('("a\\\\b",c)'), ['a\\b', 'c']);
    assert.deepEqual(compositeParts('("(1,\\"x,y\\")",2)'), ['(1,"x,y")', '2']);
  });
});
