/**
 * Debezium records in Avro, as Kafka Connect's AvroConverter writes them: the schema shape (record names from
 * Connect names, optional fields as null-first unions with null defaults, Decimal as the decimal logical type,
 * int16 marked, the value record defined once) and values that survive an Avro round trip exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { avroDatum, avroName, avroSchema, avroTypeOf } from '../../../schemas/debezium/avro-form.ts';
import { parseAvroType } from '../../../schemas/avro/long-type.ts';
import { debeziumRecords } from '../../../schemas/debezium/envelope.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { Lsn } from '../../../schemas/positions/lsn.ts';

const table: TableSchema = {
  dialect: 'postgres',
  database: 'shop',
  schema: 'public',
  table: 'orders',
  columns: [
    { name: 'id', type: { kind: 'int64' }, sourceType: 'int8', nullable: false },
    { name: 'qty', type: { kind: 'int16' }, sourceType: 'int2', nullable: true },
    {
      name: 'amount',
      type: { kind: 'decimal', precision: 12, scale: 2 },
      sourceType: 'numeric(12,2)',
      nullable: true,
    },
    { name: 'unit price', type: { kind: 'string' }, sourceType: 'text', nullable: true },
    // io.debezium.time.MicroTimestamp: a long written as an object with connect.name.
    { name: 'at', type: { kind: 'timestamp', precision: 6 }, sourceType: 'timestamp', nullable: true },
  ],
  key: ['id'],
  beforeImage: 'full',
};

const update: ChangeEvent = {
  table,
  op: 'u',
  source: {
    connector: 'shop',
    position: { commit: { kind: 'pg', lsn: 0x1000n as Lsn }, index: 0 },
    txId: '571',
    commitTimeMicros: 1_700_000_000_123_456n,
    origin: null,
    snapshot: false,
  },
  transaction: { id: '571', index: 0, total: 1 },
  before: { id: 9_007_199_254_740_993n, qty: 1, amount: '12.50', 'unit price': 'a', at: null },
  after: {
    id: 9_007_199_254_740_993n,
    qty: 2,
    amount: '-0.01',
    'unit price': null,
    at: '2024-01-01 00:00:01.5',
  },
  unchanged: [],
};

const options = { prefix: 'cdc-shop', version: '0.1.0', binlogFlavor: 'mariadb' as const, tombstones: true };

test('names Avro refuses become underscores', () => {
  assert.equal(avroName('unit price'), 'unit_price');
  assert.equal(avroName('1st'), '_1st');
  assert.equal(avroName('ok_name'), 'ok_name');
});

test('the envelope schema as AvroConverter writes it', () => {
  const [record] = debeziumRecords(update, null, 0n, options);
  const schema = avroSchema(record!.value!.schema) as {
    name: string;
    namespace: string;
    fields: { name: string; type: unknown; default?: unknown }[];
    'connect.name': string;
  };
  assert.equal(schema.name, 'Envelope');
  assert.equal(schema.namespace, 'cdc_shop.public.orders');
  assert.equal(schema['connect.name'], 'cdc-shop.public.orders.Envelope');
  const before = schema.fields.find((f) => f.name === 'before')!;
  const after = schema.fields.find((f) => f.name === 'after')!;
  assert.equal(before.default, null);
  const value = (before.type as unknown[])[1] as { name: string; fields: { name: string; type: unknown }[] };
  assert.equal(value.name, 'Value');
  assert.deepStrictEqual(after.type, ['null', 'cdc_shop.public.orders.Value'], 'defined once, then named');
  const amount = value.fields.find((f) => f.name === 'amount')!.type as unknown[];
  assert.deepStrictEqual(amount[1], {
    type: 'bytes',
    scale: 2,
    precision: 12,
    'connect.version': 1,
    'connect.parameters': { scale: '2', 'connect.decimal.precision': '12' },
    'connect.name': 'org.apache.kafka.connect.data.Decimal',
    logicalType: 'decimal',
  });
  assert.deepStrictEqual(value.fields.find((f) => f.name === 'qty')!.type, [
    'null',
    { type: 'int', 'connect.type': 'int16' },
  ]);
  assert.ok(value.fields.some((f) => f.name === 'unit_price'));
});

test('values survive an Avro round trip through the schema text', () => {
  const [record] = debeziumRecords(update, null, 0n, options);
  const part = record!.value!;
  const bytes = avroTypeOf(part.schema).type.toBuffer(avroDatum(part.schema, part.payload));
  // A reader made from the schema text alone (as a registry hands it out), longs as exact bigints.
  const reader = parseAvroType(JSON.parse(avroTypeOf(part.schema).text));
  const decoded = reader.fromBuffer(bytes) as {
    op: string;
    before: Record<string, unknown>;
    after: Record<string, unknown>;
  };
  assert.equal(decoded.op, 'u');
  assert.equal(decoded.after.id, 9_007_199_254_740_993n);
  assert.equal(decoded.after.qty, 2);
  assert.deepStrictEqual(decoded.before.amount, Buffer.from([0x04, 0xe2]), '12.50 as unscaled 1250');
  assert.deepStrictEqual(decoded.after.amount, Buffer.from([0xff]), '-0.01 as unscaled -1');
  assert.equal(decoded.before.unit_price, 'a');
  assert.equal(decoded.after.unit_price, null);
  assert.equal(decoded.after.at, 1_704_067_201_500_000n, 'a named long is an exact bigint');
});
