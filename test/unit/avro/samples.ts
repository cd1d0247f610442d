/** Table schemas and events shared by the Avro tests: every column kind, awkward names, absent and null values. */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../../../schemas/positions/lsn.ts';
import type { EventPosition } from '../../../schemas/positions/position.ts';

const column = (name: string, type: ColumnType, sourceType: string, nullable = true) => ({
  name,
  type,
  sourceType,
  nullable,
});

export const sampleTable: TableSchema = {
  database: 'shop',
  schema: 'public',
  table: 'Order Lines "ü"',
  dialect: 'postgres',
  key: ['id', 'line no'],
  beforeImage: 'key',
  columns: [
    column('id', { kind: 'int64' }, 'int8', false),
    column('line no', { kind: 'int32' }, 'int4', false),
    column('flag', { kind: 'boolean' }, 'bool'),
    column('small', { kind: 'int16' }, 'int2'),
    column('big_u', { kind: 'uint64' }, 'bigint unsigned'),
    column('ratio', { kind: 'float32' }, 'float4'),
    column('amount', { kind: 'float64' }, 'float8'),
    column('price', { kind: 'decimal', precision: 12, scale: 2 }, 'numeric(12,2)'),
    column('Name', { kind: 'string', maxLength: 40 }, 'varchar(40)'),
    column('name', { kind: 'text' }, 'citext'),
    column('blob', { kind: 'bytes' }, 'bytea'),
    column('bits', { kind: 'bit', length: 8 }, 'bit(8)'),
    column('uid', { kind: 'uuid' }, 'uuid'),
    column('doc', { kind: 'json', binary: true }, 'jsonb'),
    column('day', { kind: 'date' }, 'date'),
    column('at', { kind: 'time', precision: 6 }, 'time'),
    column('ts', { kind: 'timestamp', precision: 6 }, 'timestamp'),
    column('tstz', { kind: 'timestamptz' }, 'timestamptz'),
    column('span', { kind: 'interval' }, 'interval'),
    column('mood', { kind: 'enum', values: ['sad', 'ok'] }, 'public.mood'),
    column('tags', { kind: 'set', values: ['a', 'b'] }, "set('a','b')"),
    column('ints', { kind: 'array', element: { kind: 'int64' } }, '_int8'),
    column('grid', { kind: 'array', element: { kind: 'array', element: { kind: 'bytes' } } }, '_bytea'),
    column('3rd col.x', { kind: 'string' }, 'text'),
    column('__proto__', { kind: 'string' }, 'text'),
    column('constructor', { kind: 'int32' }, 'int4', false),
  ],
};

export function pgPosition(lsn: bigint, index: number): EventPosition {
  return { commit: { kind: 'pg', lsn: lsnFromBigInt(lsn) }, index };
}

export const fullRow: Row = Object.defineProperty(
  {
    id: 2n ** 62n + 7n,
    'line no': -3,
    flag: true,
    small: -32768,
    big_u: 2n ** 64n - 1n,
    ratio: Math.fround(1.25),
    amount: -1.5e300,
    price: '12345678901.99',
    Name: '',
    name: 'ünïcødé 🐘 "quoted"',
    blob: new Uint8Array([0, 1, 2, 255]),
    bits: '10100000',
    uid: '6f1c0e8e-8d4c-4f7a-9f55-0c1d1f6a0b3e',
    doc: '{"a": [1, 2.50, null]}',
    day: '2024-02-29',
    at: '23:59:59.999999',
    ts: '2024-02-29 23:59:59.123456',
    tstz: '2024-02-29 23:59:59.123456+00',
    span: '1 year 2 mons 3 days 04:05:06.789',
    mood: 'ok',
    tags: 'a,b',
    ints: [1n, null, -(2n ** 63n)],
    grid: [[new Uint8Array([1]), null], null, []],
    '3rd col.x': 'x',
    constructor: 7,
  },
  '__proto__',
  { value: 'proto value', enumerable: true, writable: true, configurable: true },
);

export const nullRow: Row = Object.fromEntries(
  sampleTable.columns.map((c) => [c.name, c.nullable ? null : c.name === 'id' ? 1n : 1]),
);

const source = (position: EventPosition) => ({
  connector: 'shop-pg',
  position,
  txId: '771',
  commitTimeMicros: 1_709_251_199_123_456n,
  origin: null,
  snapshot: false,
});

export function sampleEvents(table: TableSchema = sampleTable): ChangeEvent[] {
  const tx = (index: number, total: number | null) => ({ id: '771', index, total });
  return [
    {
      op: 'c',
      table,
      before: null,
      after: fullRow,
      source: source(pgPosition(0x16_b374d848n, 0)),
      transaction: tx(0, null),
    },
    {
      op: 'c',
      table,
      before: null,
      after: nullRow,
      source: source(pgPosition(0x16_b374d848n, 1)),
      transaction: tx(1, null),
    },
    {
      op: 'u',
      table,
      before: { id: 1n, 'line no': 1 },
      after: { id: 1n, 'line no': 1, flag: false },
      unchanged: ['doc', 'blob'],
      source: { ...source(pgPosition(0x16_b374d848n, 2)), origin: 'eu-west' },
      transaction: tx(2, null),
    },
    {
      op: 'u',
      table,
      before: null,
      after: fullRow,
      unchanged: [],
      source: source(pgPosition(0x16_b374d848n, 3)),
      transaction: tx(3, null),
    },
    {
      op: 'd',
      table,
      before: { id: 1n, 'line no': 1 },
      after: null,
      source: source(pgPosition(0x16_b374d848n, 4)),
      transaction: tx(4, 6),
    },
    {
      op: 't',
      table,
      before: null,
      after: null,
      source: source(pgPosition(0x16_b374d848n, 5)),
      transaction: tx(5, 6),
    },
    {
      op: 'r',
      table,
      before: null,
      after: fullRow,
      source: {
        ...source({
          commit: {
            kind: 'binlog',
            flavor: 'mariadb',
            gtidSet: '0-1-42',
            seq: 42n,
            file: 'bin.000001',
            offset: 4,
          },
          index: 0,
        }),
        txId: null,
        snapshot: true,
      },
      transaction: null,
    },
  ];
}
