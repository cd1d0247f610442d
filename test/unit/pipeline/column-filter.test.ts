/**
 * Column rules at capture: what each mask writes, the table the events then describe (and so the Avro schema),
 * before-images masked like after-images, and the rules refused when the table shows them wrong (a key column,
 * a column type a mask does not take, two patterns disagreeing).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { CaptureBatch, SourceConnector } from '../../../connectors/connector.ts';
import { encodeEvent } from '../../../schemas/avro/codec.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../../../schemas/positions/lsn.ts';
import { CdcError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import type { ColumnsConfig } from '../../../services/config/columns.ts';
import { ColumnFilter, filterColumns, filtered } from '../../../services/pipeline/column-filter.ts';
import { maskValue } from '../../../services/pipeline/column-masks.ts';
import { ColumnRules } from '../../../services/pipeline/column-rules.ts';
import { column, pgTable, transaction } from '../apply/events.ts';

const SECRET = 'a-secret-of-32-characters-length';
const hmac = (text: string, secret = SECRET) => createHmac('sha256', secret).update(text).digest('hex');

const users: TableSchema = {
  ...pgTable(
    'public',
    'users',
    [
      column('id', 'bigint', { kind: 'int64' }, false),
      column('email', 'text', { kind: 'string' }),
      { ...column('phone', 'character varying(20)', { kind: 'string', maxLength: 20 }), default: '000' },
      column('notes', 'text', { kind: 'string' }),
      column('ssn', 'text', { kind: 'string' }),
      column('age', 'integer', { kind: 'int32' }),
    ],
    ['id'],
  ),
  beforeImage: 'full',
};

const config: ColumnsConfig = {
  'public.users': {
    exclude: ['ssn'],
    mask: {
      email: { hash: { secret: SECRET } },
      phone: 'redact',
      notes: { truncate: 5 },
      age: { redact: 2 },
    },
  },
};

const row = {
  id: 7n,
  email: 'ada@example.com',
  phone: '+44 20 7946 0000',
  notes: 'likes long walks',
  ssn: '078-05-1120',
  age: 36,
};

function plan(table: TableSchema, columns: ColumnsConfig = config) {
  const made = new ColumnRules('pg-main', columns).plan(table);
  assert.ok(made !== null, 'the rules touch the table');
  return made;
}

/** The CONFIG_INVALID message a plan is refused with. */
function refusal(table: TableSchema, columns: ColumnsConfig): string {
  try {
    new ColumnRules('pg-main', columns).plan(table);
  } catch (error) {
    assert.ok(error instanceof CdcError && error.code === 'CONFIG_INVALID', String(error));
    return error.message;
  }
  assert.fail('the rules were accepted');
}

void describe('column masks', () => {
  void test('hash is HMAC-SHA-256 of the value with the secret, in hex; the same value hashes alike, another secret differently', () => {
    const mask = { kind: 'hash', secret: SECRET } as const;
    assert.equal(maskValue(mask, 'ada@example.com'), hmac('ada@example.com'));
    // Keyed: not the plain hash of the value, which anyone could recompute from a guess.
    assert.notEqual(
      maskValue(mask, 'ada@example.com'),
      createHash('sha256').update('ada@example.com').digest('hex'),
    );
    assert.notEqual(
      maskValue({ kind: 'hash', secret: `${SECRET}!` }, 'ada@example.com'),
      maskValue(mask, 'ada@example.com'),
    );
    // Integers hash as their decimal text, whether the connector read them as number or bigint.
    assert.equal(maskValue(mask, 42), hmac('42'));
    assert.equal(maskValue(mask, 42n), hmac('42'));
    assert.equal(
      maskValue(mask, new Uint8Array([1, 2])),
      createHmac('sha256', SECRET)
        .update(Buffer.from([1, 2]))
        .digest('hex'),
    );
  });

  void test('redact writes asterisks whatever the value; truncate keeps whole characters; NULL stays NULL', () => {
    assert.equal(maskValue({ kind: 'redact', chars: 8 }, 'x'), '********');
    assert.equal(maskValue({ kind: 'redact', chars: 3 }, 123456), '***');
    assert.equal(maskValue({ kind: 'truncate', chars: 6 }, 'héllo😀 world'), 'héllo😀');
    assert.equal(maskValue({ kind: 'truncate', chars: 20 }, 'short'), 'short');
    for (const mask of [
      { kind: 'redact', chars: 8 },
      { kind: 'hash', secret: SECRET },
      { kind: 'truncate', chars: 2 },
    ] as const)
      assert.equal(maskValue(mask, null), null);
  });
});

void describe('column rules on a table', () => {
  void test('excluded columns leave the table; masked ones take the type their values now have; defaults are masked too', () => {
    const { table } = plan(users);
    assert.deepEqual(
      table.columns.map((c) => [c.name, c.sourceType, c.type]),
      [
        ['id', 'bigint', { kind: 'int64' }],
        ['email', 'character(64)', { kind: 'string', maxLength: 64, fixed: true }],
        ['phone', 'character varying(8)', { kind: 'string', maxLength: 8 }],
        ['notes', 'text', { kind: 'string' }],
        ['age', 'character varying(2)', { kind: 'string', maxLength: 2 }],
      ],
    );
    assert.equal(table.columns.find((c) => c.name === 'phone')?.default, '********');
    const mysql = plan(
      { ...users, dialect: 'mysql', schema: 'shop', database: 'shop' },
      {
        'shop.*': config['public.users']!,
      },
    );
    assert.deepEqual(
      mysql.table.columns.map((c) => c.sourceType),
      ['bigint', 'char(64)', 'varchar(8)', 'text', 'varchar(2)'],
    );
  });

  void test('after- and before-images are masked alike, left-out columns leave rows and the unchanged list, absent values stay absent', () => {
    const p = plan(users);
    const [update] = transaction(100n, [
      {
        op: 'u',
        table: users,
        before: row,
        after: { ...row, notes: undefined as never, ssn: '999-99-9999', age: 37 },
        unchanged: ['notes', 'ssn'],
      },
    ]);
    const masked = filtered(update!, p);
    assert.equal(masked.op, 'u');
    if (masked.op !== 'u') return;
    const expected = { id: 7n, email: hmac('ada@example.com'), phone: '********', notes: 'likes', age: '**' };
    assert.deepEqual(masked.before, expected);
    assert.deepEqual(masked.after, { ...expected, notes: undefined });
    assert.deepEqual(masked.unchanged, ['notes']);
    assert.equal(masked.table, p.table);
    const [remove] = transaction(101n, [{ op: 'd', table: users, before: row }]);
    assert.deepEqual(filtered(remove!, p).before, expected);
  });

  void test('the encoded event holds no original value of a masked or left-out column, and its schema no left-out column', () => {
    const [insert] = transaction(102n, [{ op: 'c', table: users, after: row }]);
    const encoded = encodeEvent(filtered(insert!, plan(users)));
    const bytes = Buffer.concat([
      encoded.key ?? Buffer.alloc(0),
      encoded.value,
      Buffer.from(encoded.schemas.value.json),
    ]);
    for (const original of ['ada@example.com', '+44 20 7946 0000', 'likes long walks', '078-05-1120', 'ssn'])
      assert.ok(!bytes.includes(original), `${original} is in the encoded event`);
    assert.ok(bytes.includes(hmac('ada@example.com')));
  });

  void test('a pattern rules every table it matches; a table it does not match goes out untouched', () => {
    const orders = pgTable(
      'public',
      'orders',
      [column('id', 'int', { kind: 'int32' }), column('email', 'text', { kind: 'string' })],
      ['id'],
    );
    const rules = new ColumnRules('pg-main', {
      'public.*': { mask: { email: 'redact' } },
      'public.users': { exclude: ['ssn'] },
    });
    assert.deepEqual(rules.plan(orders)?.masks, new Map([['email', { kind: 'redact', chars: 8 }]]));
    const both = rules.plan(users);
    assert.deepEqual([...(both?.dropped ?? [])], ['ssn']);
    assert.deepEqual([...(both?.masks.keys() ?? [])], ['email']);
    assert.equal(rules.plan({ ...orders, schema: 'audit' }), null);
  });

  void test('include keeps only the listed columns', () => {
    const { table, dropped } = plan(users, { 'public.users': { include: ['id', 'email'] } });
    assert.deepEqual(
      table.columns.map((c) => c.name),
      ['id', 'email'],
    );
    assert.deepEqual([...dropped].sort(), ['age', 'notes', 'phone', 'ssn']);
  });

  void test('a key column cannot be left out or masked, hash included', () => {
    assert.match(
      refusal(users, { 'public.users': { mask: { id: { hash: { secret: SECRET } } } } }),
      /^source pg-main: columns\["public\.users"\]\.mask\.id: id is a key column of public\.users/,
    );
    assert.match(
      refusal(users, { 'public.*': { exclude: ['id'] } }),
      /columns\["public\.\*"\]\.exclude: id is a key column/,
    );
    assert.match(
      refusal(users, { 'public.users': { include: ['email'] } }),
      /\.include: id is a key column.*list it in include/,
    );
  });

  void test('a mask a column type cannot take is refused, naming the column, its type and what to use instead', () => {
    assert.match(
      refusal(users, { 'public.users': { mask: { age: { truncate: 2 } } } }),
      /mask\.age: public\.users: truncate applies to character columns \(char, varchar, text\), not integer/,
    );
    const measured = pgTable(
      'public',
      'users',
      [column('id', 'int', { kind: 'int32' }), column('score', 'double precision', { kind: 'float64' })],
      ['id'],
    );
    assert.match(
      refusal(measured, { 'public.users': { mask: { score: { hash: { secret: SECRET } } } } }),
      /mask\.score: .*floating-point column \(double precision\)/,
    );
  });

  void test('two patterns masking one column differently are refused; the same mask twice is fine', () => {
    assert.match(
      refusal(users, {
        'public.*': { mask: { email: 'redact' } },
        'public.users': { mask: { email: { truncate: 3 } } },
      }),
      /mask\.email: email of public\.users is also masked as \{ redact: 8 \} by columns\["public\.\*"\]/,
    );
    plan(users, { 'public.*': { mask: { email: 'redact' } }, 'public.users': { mask: { email: 'redact' } } });
  });

  void test('a message never shows the secret', () => {
    const message = refusal(
      {
        ...users,
        columns: [...users.columns, column('tags', 'text[]', { kind: 'array', element: { kind: 'text' } })],
      },
      { 'public.users': { mask: { tags: { hash: { secret: SECRET } } } } },
    );
    assert.ok(!message.includes(SECRET), message);
  });

  void test('columns an entry naming the table lists but the table lacks are reported; a pattern names none', () => {
    assert.deepEqual(
      plan(users, { 'public.users': { mask: { emial: 'redact', email: 'redact' } } }).unknownColumns,
      ['emial'],
    );
    assert.deepEqual(
      plan(users, { 'public.*': { mask: { emial: 'redact', email: 'redact' } } }).unknownColumns,
      [],
    );
  });
});

void describe('the column filter around a connector', () => {
  const connector = (batches: readonly CaptureBatch[]): SourceConnector => ({
    name: 'pg-main',
    async *stream() {
      for (const batch of batches) yield await Promise.resolve(batch);
    },
    acknowledge: () => Promise.resolve(),
    status: () => assert.fail('not asked'),
    requestSnapshot: () => Promise.resolve(),
  });

  void test('masks the events of ruled tables in every batch, passes others untouched, keeps commits and state', async () => {
    const orders = pgTable('public', 'orders', [column('id', 'int', { kind: 'int32' })], ['id']);
    const events: ChangeEvent[] = transaction(200n, [
      { op: 'r', table: users, after: row },
      { op: 'c', table: orders, after: { id: 1 } },
    ]);
    const batch: CaptureBatch = { events, commit: { kind: 'pg', lsn: lsnFromBigInt(200n) }, state: { s: 1 } };
    const untouched: CaptureBatch = { events: [events[1]!], commit: null };
    const filter = filterColumns(
      connector([batch, untouched]),
      { name: 'pg-main', columns: config },
      silentLogger,
    );
    assert.ok(filter instanceof ColumnFilter);
    const out: CaptureBatch[] = [];
    for await (const b of filter.stream({ position: null, state: null }, new AbortController().signal))
      out.push(b);
    assert.equal(out[0]?.events[0]?.after?.email, hmac('ada@example.com'));
    assert.equal(out[0]?.events[1], events[1]);
    assert.deepEqual([out[0]?.commit, out[0]?.state], [batch.commit, batch.state]);
    assert.equal(out[1], untouched, 'a batch without ruled tables passes as it is');
  });

  void test('a source without rules keeps its connector unwrapped', () => {
    const inner = connector([]);
    assert.equal(filterColumns(inner, { name: 'pg-main' }, silentLogger), inner);
    assert.equal(filterColumns(inner, { name: 'pg-main', columns: {} }, silentLogger), inner);
  });
});
