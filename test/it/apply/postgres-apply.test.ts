import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction, snapshotRead, type Change } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';
import { applyBatches, origins } from './harness.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop(origins());
});

async function appliedPosition(stream: string): Promise<string | null> {
  const rows = await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [stream]);
  return rows[0]?.position ?? null;
}

const moodValues = ['sad', 'ok', 'happy'];

function richTable(schema: string) {
  return pgTable(
    schema,
    'rich',
    [
      column('id', 'bigint', { kind: 'int64' }, false),
      column('amount', 'numeric(30,10)', { kind: 'decimal', precision: 30, scale: 10 }),
      column('at', 'timestamp(6) with time zone', { kind: 'timestamptz', precision: 6 }),
      column('day', 'date', { kind: 'date' }),
      column('uid', 'uuid', { kind: 'uuid' }),
      column('doc', 'jsonb', { kind: 'json', binary: true }),
      column('raw', 'bytea', { kind: 'bytes' }),
      column('tags', 'text[]', { kind: 'array', element: { kind: 'string' } }),
      column('nums', 'bigint[]', { kind: 'array', element: { kind: 'int64' } }),
      column('mood', `${schema}.mood`, { kind: 'enum', values: moodValues }),
      column('flag', 'boolean', { kind: 'boolean' }),
      column('ratio', 'double precision', { kind: 'float64' }),
    ],
    ['id'],
  );
}

void describe('PostgreSQL apply', () => {
  void test('values round-trip exactly, and the applied position is stored with every batch', async () => {
    const stream = uniqueName('s');
    const schema = uniqueName('sch');
    const table = richTable(schema);
    const row = {
      id: 9223372036854775807n,
      amount: '12345678901234567890.0123456789',
      at: '2024-02-29 23:59:59.123456+00',
      day: '2024-02-29',
      uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      doc: '{"a": [1, 2.50, "x"]}',
      raw: new Uint8Array([0, 1, 254, 255]),
      tags: ['a', 'b c', 'd"e', null, 'f\\g'],
      nums: [9007199254740993n, -1n],
      mood: 'happy',
      flag: true,
      ratio: 0.1,
    };
    const first = transaction(100n, [{ op: 'c', table, after: row }]);
    const second = transaction(200n, [
      {
        op: 'c',
        table,
        after: { ...row, id: 1n, mood: 'sad', tags: [], raw: new Uint8Array(), flag: false },
      },
    ]);
    const run = await applyBatches(db.url, stream, [first, second]);
    assert.equal(run.error, null);
    const rows = await db.query(
      `SELECT id, amount, at, day, uid, doc, raw, tags, nums, mood, flag, ratio FROM ${schema}.rich ORDER BY id DESC`,
    );
    assert.deepEqual(rows[0], {
      id: '9223372036854775807',
      amount: '12345678901234567890.0123456789',
      at: '2024-02-29 23:59:59.123456+00',
      day: '2024-02-29',
      uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      doc: '{"a": [1, 2.50, "x"]}',
      raw: '\\x0001feff',
      tags: '{a,"b c","d\\"e",NULL,"f\\\\g"}',
      nums: '{9007199254740993,-1}',
      mood: 'happy',
      flag: 't',
      ratio: '0.1',
    });
    assert.equal(rows[1]?.mood, 'sad');
    assert.equal(rows[1]?.raw, '\\x');
    assert.equal(await appliedPosition(stream), 'pg:0/C8#0');
    assert.equal(run.worker.status().transactionsApplied, 2);
  });

  void test('redelivering the same events changes nothing', async () => {
    const stream = uniqueName('s');
    const table = pgTable(
      'public',
      uniqueName('t'),
      [column('id', 'integer', { kind: 'int32' }, false), column('n', 'integer', { kind: 'int32' })],
      ['id'],
    );
    const events: ChangeEvent[] = [
      ...transaction(10n, [
        { op: 'c', table, after: { id: 1, n: 1 } },
        { op: 'c', table, after: { id: 2, n: 1 } },
      ]),
      ...transaction(20n, [
        { op: 'u', table, after: { id: 1, n: 2 } },
        { op: 'd', table, before: { id: 2 } },
      ]),
      ...transaction(30n, [{ op: 'u', table, after: { id: 1, n: 3 } }]),
    ];
    await applyBatches(db.url, stream, [events]);
    const once = await db.query(`SELECT id, n FROM public."${table.table}" ORDER BY id`);
    // Everything again, and an overlapping tail with one new transaction, as a consumer restart would deliver.
    const more = transaction(40n, [{ op: 'c', table, after: { id: 3, n: 1 } }]);
    const again = await applyBatches(db.url, stream, [events, [...events.slice(2), ...more]]);
    assert.equal(again.error, null);
    assert.deepEqual(once, [{ id: '1', n: '3' }]);
    assert.deepEqual(await db.query(`SELECT id, n FROM public."${table.table}" ORDER BY id`), [
      { id: '1', n: '3' },
      { id: '3', n: '1' },
    ]);
    assert.equal(again.worker.status().eventsApplied, 1);
    assert.equal(again.worker.status().eventsSkipped, events.length + 3);
    assert.equal(await appliedPosition(stream), 'pg:0/28#0');
  });

  void test('an update leaves unchanged columns untouched and follows a primary key change', async () => {
    const stream = uniqueName('s');
    const table = pgTable(
      'public',
      uniqueName('t'),
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('big', 'text', { kind: 'string' }),
        column('n', 'integer', { kind: 'int32' }),
      ],
      ['id'],
    );
    const large = 'x'.repeat(100_000);
    const events = [
      ...transaction(10n, [{ op: 'c', table, after: { id: 1, big: large, n: 1 } }]),
      // Unchanged TOAST: the column is listed as unchanged and absent from `after`.
      ...transaction(20n, [{ op: 'u', table, after: { id: 1, n: 2 }, unchanged: ['big'] }]),
      ...transaction(30n, [
        { op: 'u', table, before: { id: 1 }, after: { id: 7, n: 3 }, unchanged: ['big'] },
      ]),
    ];
    const run = await applyBatches(db.url, stream, [events]);
    assert.equal(run.error, null);
    const rows = await db.query(
      `SELECT id, length(big) AS len, big = repeat('x', 100000) AS same, n FROM public."${table.table}"`,
    );
    assert.deepEqual(rows, [{ id: '7', len: '100000', same: 't', n: '3' }]);
  });

  void test('a delete on a table without a key removes one of two identical rows; truncate empties a table', async () => {
    const stream = uniqueName('s');
    const keyless = pgTable(
      'public',
      uniqueName('k'),
      [column('a', 'integer', { kind: 'int32' }), column('j', 'json', { kind: 'json' })],
      [],
    );
    const other = pgTable(
      'public',
      uniqueName('o'),
      [column('id', 'integer', { kind: 'int32' }, false)],
      ['id'],
    );
    const changes: Change[] = [
      { op: 'c', table: keyless, after: { a: 1, j: '{"x":1}' } },
      { op: 'c', table: keyless, after: { a: 1, j: '{"x":1}' } },
      { op: 'c', table: keyless, after: { a: null, j: null } },
      { op: 'c', table: other, after: { id: 1 } },
    ];
    const events = [
      ...transaction(10n, changes),
      ...transaction(20n, [
        { op: 'd', table: keyless, before: { a: 1, j: '{"x":1}' } },
        { op: 'd', table: keyless, before: { a: null, j: null } },
      ]),
      ...transaction(30n, [{ op: 't', table: other }]),
    ];
    const run = await applyBatches(db.url, stream, [events]);
    assert.equal(run.error, null);
    assert.deepEqual(await db.query(`SELECT a, j FROM public."${keyless.table}"`), [
      { a: '1', j: '{"x":1}' },
    ]);
    assert.deepEqual(await db.query(`SELECT count(*) AS n FROM public."${other.table}"`), [{ n: '0' }]);
  });

  void test('schema changes at the source (add, drop, alter column) reach the replica between events', async () => {
    const stream = uniqueName('s');
    const name = uniqueName('t');
    const v1 = pgTable(
      'public',
      name,
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('old', 'text', { kind: 'string' }),
        column('n', 'integer', { kind: 'int32' }),
      ],
      ['id'],
    );
    const v2 = pgTable(
      'public',
      name,
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('n', 'bigint', { kind: 'int64' }),
        column('added', 'numeric(10,2)', { kind: 'decimal', precision: 10, scale: 2 }),
      ],
      ['id'],
    );
    const events = [
      ...transaction(10n, [{ op: 'c', table: v1, after: { id: 1, old: 'x', n: 5 } }]),
      ...transaction(20n, [
        { op: 'c', table: v2, after: { id: 2, n: 5_000_000_000n, added: '1.50' } },
        { op: 'u', table: v2, after: { id: 1, n: 6n, added: '2.00' } },
      ]),
    ];
    const run = await applyBatches(db.url, stream, [events]);
    assert.equal(run.error, null);
    const columns = await db.query(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [`public."${name}"`],
    );
    assert.deepEqual(columns, [
      { name: 'id', type: 'integer' },
      { name: 'n', type: 'bigint' },
      { name: 'added', type: 'numeric(10,2)' },
    ]);
    assert.deepEqual(await db.query(`SELECT id, n, added FROM public."${name}" ORDER BY id`), [
      { id: '1', n: '6', added: '2.00' },
      { id: '2', n: '5000000000', added: '1.50' },
    ]);
  });

  void test('snapshot reads overlapping streamed changes are upserts', async () => {
    const stream = uniqueName('s');
    const table = pgTable(
      'public',
      uniqueName('t'),
      [column('id', 'integer', { kind: 'int32' }, false), column('n', 'integer', { kind: 'int32' })],
      ['id'],
    );
    const events = [
      ...transaction(10n, [{ op: 'c', table, after: { id: 1, n: 1 } }]),
      snapshotRead(20n, 0, table, { id: 1, n: 2 }),
      snapshotRead(20n, 1, table, { id: 2, n: 2 }),
      snapshotRead(20n, 2, table, { id: 1, n: 3 }),
    ];
    const run = await applyBatches(db.url, stream, [events]);
    assert.equal(run.error, null);
    assert.deepEqual(await db.query(`SELECT id, n FROM public."${table.table}" ORDER BY id`), [
      { id: '1', n: '3' },
      { id: '2', n: '2' },
    ]);
    assert.equal(await appliedPosition(stream), 'pg:0/14#2');
  });
});

void describe('PostgreSQL apply of enum changes and other dialects', () => {
  void test('a value added to a source enum type is added to the replica type in the source order', async () => {
    const stream = uniqueName('s');
    const schema = uniqueName('sch');
    const make = (values: string[]) =>
      pgTable(
        schema,
        'moods',
        [
          column('id', 'integer', { kind: 'int32' }, false),
          column('m', `${schema}.feeling`, { kind: 'enum', values }),
        ],
        ['id'],
      );
    const events = [
      ...transaction(10n, [{ op: 'c', table: make(['low', 'high']), after: { id: 1, m: 'low' } }]),
      ...transaction(20n, [{ op: 'c', table: make(['low', 'mid', 'high']), after: { id: 2, m: 'mid' } }]),
    ];
    const run = await applyBatches(db.url, stream, [events]);
    assert.equal(run.error, null);
    assert.deepEqual(await db.query(`SELECT enum_range(NULL::${schema}.feeling) AS labels`), [
      { labels: '{low,mid,high}' },
    ]);
    assert.deepEqual(await db.query(`SELECT id, m FROM ${schema}.moods ORDER BY m`), [
      { id: '1', m: 'low' },
      { id: '2', m: 'mid' },
    ]);
  });

  void test('a MySQL table maps its neutral types: unsigned bigint, decimals, bit, set, json', async () => {
    const stream = uniqueName('s');
    const database = uniqueName('shop');
    const table: TableSchema = {
      database,
      schema: database,
      table: 'orders',
      dialect: 'mysql',
      beforeImage: 'full',
      key: ['id'],
      columns: [
        column('id', 'bigint unsigned', { kind: 'uint64' }, false),
        column('price', 'decimal(10,3)', { kind: 'decimal', precision: 10, scale: 3 }),
        column('flags', 'bit(4)', { kind: 'bit', length: 4 }),
        column('sizes', "set('s','m','l')", { kind: 'set', values: ['s', 'm', 'l'] }),
        column('meta', 'json', { kind: 'json' }),
        column('at', 'datetime(6)', { kind: 'timestamp', precision: 6 }),
      ],
    };
    const run = await applyBatches(db.url, stream, [
      transaction(10n, [
        {
          op: 'c',
          table,
          after: {
            id: 18446744073709551615n,
            price: '1234567.125',
            flags: new Uint8Array([5]),
            sizes: 's,l',
            meta: '{"k": 1}',
            at: '2024-01-02 03:04:05.123456',
          },
        },
      ]),
    ]);
    assert.equal(run.error, null);
    assert.deepEqual(await db.query(`SELECT id, price, flags, sizes, meta, at FROM "${database}".orders`), [
      {
        id: '18446744073709551615',
        price: '1234567.125',
        flags: '0101',
        sizes: 's,l',
        meta: '{"k": 1}',
        at: '2024-01-02 03:04:05.123456',
      },
    ]);
  });
});
