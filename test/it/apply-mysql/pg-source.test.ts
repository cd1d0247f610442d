/**
 * PostgreSQL-dialect change events applied to MariaDB: what each PostgreSQL value becomes (asserted exactly),
 * redelivery, dead letters for values MariaDB cannot hold, and quoted identifiers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { applyBatches, createTargetDatabase, type TargetDatabase } from './harness.ts';
import { positionRow } from '../../../services/apply/position-rows.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop();
});

const moods = ['sad', 'ok', "it's"];

function typesTable() {
  return pgTable(
    'public',
    'types',
    [
      column('id', 'bigint', { kind: 'int64' }, false),
      column('small', 'smallint', { kind: 'int16' }),
      column('amount', 'numeric(30,10)', { kind: 'decimal', precision: 30, scale: 10 }),
      column('free', 'numeric', { kind: 'decimal' }),
      column('at', 'timestamp(6) with time zone', { kind: 'timestamptz', precision: 6 }),
      column('at_offset', 'timestamp with time zone', { kind: 'timestamptz' }),
      column('ts', 'timestamp(3) without time zone', { kind: 'timestamp', precision: 3 }),
      column('day', 'date', { kind: 'date' }),
      column('t', 'time(6) without time zone', { kind: 'time', precision: 6 }),
      column('ttz', 'time with time zone', { kind: 'time', withTimeZone: true }),
      column('uid', 'uuid', { kind: 'uuid' }),
      column('doc', 'jsonb', { kind: 'json', binary: true }),
      column('raw', 'bytea', { kind: 'bytes' }),
      column('tags', 'text[]', { kind: 'array', element: { kind: 'string' } }),
      column('nums', 'bigint[]', { kind: 'array', element: { kind: 'int64' } }),
      column('grid', 'numeric[]', { kind: 'array', element: { kind: 'decimal' } }),
      column('mood', 'public.mood', { kind: 'enum', values: moods }),
      column('flag', 'boolean', { kind: 'boolean' }),
      column('ratio', 'double precision', { kind: 'float64' }),
      column('r4', 'real', { kind: 'float32' }),
      column('iv', 'interval', { kind: 'interval' }),
      column('bits', 'bit(4)', { kind: 'bit', length: 4 }),
      column('note', 'text', { kind: 'string' }),
      column('vc', 'character varying(10)', { kind: 'string', maxLength: 10 }),
      column('other', 'inet', { kind: 'text' }),
    ],
    ['id'],
  );
}

void describe('PostgreSQL events → MariaDB', () => {
  void test('every PostgreSQL value becomes the MariaDB value the type mapping promises, exactly', async () => {
    const table = typesTable();
    const row = {
      id: 9223372036854775807n,
      small: -32768,
      amount: '12345678901234567890.0123456789',
      free: '-123.45',
      at: '2024-01-02 03:04:05.123456+00',
      at_offset: '2024-01-02 01:30:00.5+05:30',
      ts: '2024-02-29 23:59:59.123',
      day: '2024-02-29',
      t: '03:04:05.123456',
      ttz: '03:04:05+02',
      uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      doc: '{"a": [1, 2.50, "x"]}',
      raw: new Uint8Array([0, 1, 254, 255]),
      tags: ['a', 'b c', 'd"e', null, 'f\\g'],
      nums: [9007199254740993n, -1n],
      grid: [
        ['1.50', '-2'],
        ['3', null],
      ],
      mood: "it's",
      flag: true,
      ratio: 0.1,
      r4: 1.25,
      iv: '1 year 2 mons 3 days 04:05:06',
      bits: '0101',
      note: `it's \\ "quoted" ✓`,
      vc: 'héllo',
      other: '192.168.0.1/32',
    };
    const nulls = Object.fromEntries(Object.keys(row).map((name) => [name, null]));
    const stream = `${db.name}_types`;
    const run = await applyBatches(
      stream,
      [
        transaction(100n, [{ op: 'c', table, after: row }]),
        transaction(200n, [{ op: 'c', table, after: { ...nulls, id: -1n } }]),
      ],
      { targetDatabase: db.name },
    );
    assert.equal(run.error, null);
    assert.equal(run.deadLetters.letters.length, 0);
    const rows = await db.rows(`SELECT * FROM \`${db.name}\`.\`types\` ORDER BY id DESC`);
    assert.deepEqual(rows[0], {
      id: '9223372036854775807',
      small: '-32768',
      amount: '12345678901234567890.0123456789',
      free: '-123.450000000000000000000000000000',
      at: '2024-01-02 03:04:05.123456',
      at_offset: '2024-01-01 20:00:00.500000',
      ts: '2024-02-29 23:59:59.123',
      day: '2024-02-29',
      t: '03:04:05.123456',
      ttz: '03:04:05+02',
      uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      doc: '{"a": [1, 2.50, "x"]}',
      raw: '0001feff',
      tags: '["a","b c","d\\"e",null,"f\\\\g"]',
      nums: '[9007199254740993,-1]',
      grid: '[[1.50,-2],[3,null]]',
      mood: "it's",
      flag: '1',
      ratio: '0.1',
      r4: '1.25',
      iv: '1 year 2 mons 3 days 04:05:06',
      bits: '05',
      note: `it's \\ "quoted" ✓`,
      vc: 'héllo',
      other: '192.168.0.1/32',
    });
    assert.deepEqual(rows[1], { ...nulls, id: '-1' });
    const [position] = await db.rows('SELECT position FROM `cdc_apply`.`applied_position` WHERE stream = ?', [
      positionRow(stream, db.name),
    ]);
    assert.match(position?.position ?? '', /^pg:0\/C8#0$/);

    const columns = await db.rows(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'types' ORDER BY ORDINAL_POSITION`,
      [db.name],
    );
    assert.deepEqual(Object.fromEntries(columns.map((c) => [c.name, c.type])), {
      id: 'bigint(20)',
      small: 'smallint(6)',
      amount: 'decimal(30,10)',
      free: 'decimal(65,30)',
      at: 'datetime(6)',
      at_offset: 'datetime(6)',
      ts: 'datetime(3)',
      day: 'date',
      t: 'time(6)',
      ttz: 'varchar(32)',
      uid: 'uuid',
      doc: 'longtext',
      raw: 'longblob',
      tags: 'longtext',
      nums: 'longtext',
      grid: 'longtext',
      mood: "enum('sad','ok','it''s')",
      flag: 'tinyint(1)',
      ratio: 'double',
      r4: 'float',
      iv: 'varchar(64)',
      bits: 'bit(4)',
      note: 'longtext',
      vc: 'varchar(10)',
      other: 'longtext',
    });
  });
});
