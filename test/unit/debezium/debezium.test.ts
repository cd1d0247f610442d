/** The Debezium mapping: each column type as Debezium 3.x writes it, the envelope, keys and transaction metadata. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { columnField, columnMapping } from '../../../schemas/debezium/column-types.ts';
import { twosComplement, parseDecimal } from '../../../schemas/debezium/decimal.ts';
import {
  dateDays,
  timeMicros,
  timestampMicros,
  zonedTimeText,
  zonedTimestampText,
} from '../../../schemas/debezium/temporal.ts';
import { debeziumRecords, tableTopic } from '../../../schemas/debezium/envelope.ts';
import { TransactionTracker } from '../../../schemas/debezium/transaction-metadata.ts';
import { jsonText, toJsonText, type RecordPart } from '../../../schemas/debezium/connect-schema.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import type { Lsn } from '../../../schemas/positions/lsn.ts';
import { javaPartition } from '../../../services/kafka/java-partitioner.ts';

const pg = (type: ColumnType) => columnMapping(type, 'postgres');

describe('column types as Debezium writes them', () => {
  test('integers, floats, booleans, strings and bytes', () => {
    assert.equal(pg({ kind: 'int32' }).value(7), 7);
    assert.equal(pg({ kind: 'int64' }).value(9_007_199_254_740_993n), 9_007_199_254_740_993n);
    assert.equal(toJsonText({ v: 9_007_199_254_740_993n }), '{"v":9007199254740993}');
    assert.equal(pg({ kind: 'float64' }).value(1.5), 1.5);
    assert.throws(() => pg({ kind: 'float64' }).value(Number.NaN), /finite float/);
    assert.equal(pg({ kind: 'boolean' }).value(true), true);
    assert.equal(pg({ kind: 'string' }).value('héllo'), 'héllo');
    assert.equal(pg({ kind: 'bytes' }).value(new Uint8Array([1, 2, 255])), 'AQL/');
    assert.deepStrictEqual(pg({ kind: 'int16' }).schema, { type: 'int16' });
  });

  test('numeric(p,s) is Connect Decimal: unscaled two’s-complement bytes in base64, scale in the schema', () => {
    const mapping = pg({ kind: 'decimal', precision: 10, scale: 2 });
    assert.deepStrictEqual(mapping.schema, {
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      version: 1,
      parameters: { scale: '2', 'connect.decimal.precision': '10' },
    });
    // 12.50 → 1250 = 0x04E2; -1.00 → -100 = 0x9C; 1.28 → 128 = 0x0080 (a sign byte, as Java writes it)
    assert.equal(mapping.value('12.50'), Buffer.from([0x04, 0xe2]).toString('base64'));
    assert.equal(mapping.value('-1'), Buffer.from([0x9c]).toString('base64'));
    assert.equal(mapping.value('1.28'), Buffer.from([0x00, 0x80]).toString('base64'));
    assert.throws(() => mapping.value('1.234'), /scale 2/);
    assert.deepStrictEqual([...twosComplement(0n)], [0]);
    assert.deepStrictEqual([...twosComplement(-129n)], [0xff, 0x7f]);
    assert.deepStrictEqual(parseDecimal('-0.5'), { unscaled: -5n, scale: 1 });
  });

  test('unconstrained numeric is VariableScaleDecimal; bigint unsigned a Decimal of scale 0', () => {
    const mapping = pg({ kind: 'decimal' });
    assert.equal(mapping.schema.name, 'io.debezium.data.VariableScaleDecimal');
    assert.deepStrictEqual(mapping.value('3.14159'), {
      scale: 5,
      value: Buffer.from(twosComplement(314159n)).toString('base64'),
    });
    const unsigned = columnMapping({ kind: 'uint64' }, 'mysql');
    assert.equal(unsigned.schema.parameters?.['scale'], '0');
    assert.equal(
      unsigned.value(18_446_744_073_709_551_615n),
      Buffer.from(twosComplement(18_446_744_073_709_551_615n)).toString('base64'),
    );
  });

  test('dates, times and timestamps: Date, MicroTime, MicroTimestamp, Timestamp, ZonedTimestamp, ZonedTime', () => {
    assert.equal(dateDays('1970-01-02'), 1);
    assert.equal(dateDays('1969-12-31'), -1);
    assert.equal(dateDays('infinity'), null);
    assert.equal(timeMicros('01:00:00.5'), 3_600_500_000n);
    assert.equal(timeMicros('-838:59:59'), -3_020_399_000_000n);
    assert.equal(timestampMicros('1970-01-01 00:00:01.000001'), 1_000_001n);
    assert.equal(zonedTimestampText('2024-01-02 03:04:05.5+02'), '2024-01-02T01:04:05.5Z');
    assert.equal(zonedTimestampText('2024-01-02 03:04:05+00'), '2024-01-02T03:04:05Z');
    assert.equal(zonedTimestampText('1969-12-31 23:59:59.999999+00'), '1969-12-31T23:59:59.999999Z');
    assert.equal(zonedTimeText('01:30:00+02'), '23:30:00Z');

    assert.equal(pg({ kind: 'date' }).schema.name, 'io.debezium.time.Date');
    assert.equal(pg({ kind: 'timestamp' }).schema.name, 'io.debezium.time.MicroTimestamp');
    assert.equal(pg({ kind: 'timestamp', precision: 3 }).schema.name, 'io.debezium.time.Timestamp');
    assert.equal(pg({ kind: 'timestamp', precision: 3 }).value('1970-01-01 00:00:01.5'), 1500n);
    assert.equal(pg({ kind: 'time' }).schema.name, 'io.debezium.time.MicroTime');
    assert.equal(pg({ kind: 'time', precision: 0 }).schema.name, 'io.debezium.time.Time');
    assert.equal(
      columnMapping({ kind: 'time', precision: 0 }, 'mysql').schema.name,
      'io.debezium.time.MicroTime',
    );
    assert.equal(pg({ kind: 'timestamptz' }).value('2024-06-01 12:00:00+00'), '2024-06-01T12:00:00Z');
    assert.throws(() => pg({ kind: 'date' }).value('infinity'), /io\.debezium\.time\.Date/);
  });

  test('uuid, json, enum, set, bit and arrays', () => {
    assert.equal(pg({ kind: 'uuid' }).schema.name, 'io.debezium.data.Uuid');
    assert.equal(pg({ kind: 'json' }).schema.name, 'io.debezium.data.Json');
    assert.deepStrictEqual(pg({ kind: 'enum', values: ['a', 'b'] }).schema.parameters, { allowed: 'a,b' });
    assert.equal(pg({ kind: 'set', values: ['x'] }).schema.name, 'io.debezium.data.EnumSet');
    assert.equal(pg({ kind: 'bit', length: 1 }).value('1'), true);
    assert.equal(pg({ kind: 'bit', length: 4 }).value('0101'), '0101');
    const array = pg({ kind: 'array', element: { kind: 'int64' } });
    assert.deepStrictEqual(array.schema, { type: 'array', items: { type: 'int64', optional: true } });
    assert.deepStrictEqual(array.value([1n, null]), [1n, null]);
  });

  test('a nullable column is an optional field', () => {
    const f = columnField(
      { name: 'n', type: { kind: 'int32' }, sourceType: 'int4', nullable: true },
      'postgres',
    );
    assert.deepStrictEqual(f, { type: 'int32', optional: true, field: 'n' });
  });
});

const table: TableSchema = {
  dialect: 'postgres',
  database: 'shop',
  schema: 'public',
  table: 'orders',
  columns: [
    { name: 'id', type: { kind: 'int64' }, sourceType: 'int8', nullable: false },
    { name: 'note', type: { kind: 'string' }, sourceType: 'text', nullable: true },
  ],
  key: ['id'],
  beforeImage: 'key',
};

function event(op: 'c' | 'd', id: bigint, index: number, total: number | null): ChangeEvent {
  const base = {
    table,
    source: {
      connector: 'shop',
      position: { commit: { kind: 'pg' as const, lsn: 0x1000n as Lsn }, index },
      txId: '571',
      commitTimeMicros: 1_700_000_000_123_456n,
      origin: null,
      snapshot: false,
    },
    transaction: { id: '571', index, total },
  };
  return op === 'c'
    ? { ...base, op, before: null, after: { id, note: 'x' } }
    : { ...base, op, before: { id }, after: null };
}

const options = {
  prefix: 'cdc.shop',
  version: '0.1.0',
  binlogFlavor: 'mariadb' as const,
  tombstones: true,
};

/** A part as JsonConverter's text parsed back: with the embedded schema, or (`bare`) the payload alone. */
const json = (part: RecordPart | null, bare = false): unknown =>
  part === null ? null : JSON.parse(jsonText(part, !bare));

describe('the envelope', () => {
  test('topic, key struct and value envelope with source and transaction blocks', () => {
    assert.equal(tableTopic('cdc.shop', { schema: 'public', table: 'my table' }), 'cdc.shop.public.my_table');
    const records = debeziumRecords(
      event('c', 5n, 0, 1),
      { id: '571:4096', totalOrder: 1, dataCollectionOrder: 1 },
      2_000_000n,
      options,
    );
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.topic, 'cdc.shop.public.orders');
    const key = json(record.key) as { schema: { name: string }; payload: unknown };
    assert.equal(key.schema.name, 'cdc.shop.public.orders.Key');
    assert.deepStrictEqual(key.payload, { id: 5 });
    const value = json(record.value) as {
      schema: { name: string };
      payload: Record<string, unknown>;
    };
    assert.equal(value.schema.name, 'cdc.shop.public.orders.Envelope');
    assert.deepStrictEqual(value.payload['after'], { id: 5, note: 'x' });
    assert.equal(value.payload['op'], 'c');
    assert.equal(value.payload['ts_ms'], 2000);
    assert.deepStrictEqual(value.payload['transaction'], {
      id: '571:4096',
      total_order: 1,
      data_collection_order: 1,
    });
    assert.deepStrictEqual(value.payload['source'], {
      version: '0.1.0',
      connector: 'postgresql',
      name: 'cdc.shop',
      ts_ms: 1_700_000_000_123,
      snapshot: 'false',
      db: 'shop',
      sequence: null,
      ts_us: 1_700_000_000_123_456,
      ts_ns: 1_700_000_000_123_456_000,
      schema: 'public',
      table: 'orders',
      txId: 571,
      lsn: 4096,
      xmin: null,
    });
  });

  test('a delete with a key-only before image: other columns null and optional, then a tombstone', () => {
    const [record, tombstone, ...rest] = debeziumRecords(event('d', 5n, 0, 1), null, 0n, options);
    assert.equal(rest.length, 0);
    assert.equal(tombstone?.value, null);
    assert.equal(tombstone.key, record!.key);
    const value = json(record!.value) as { payload: Record<string, unknown> };
    assert.deepStrictEqual(value.payload['before'], { id: 5, note: null });
    assert.equal(value.payload['op'], 'd');
    const bare = debeziumRecords(event('d', 5n, 0, 1), null, 0n, { ...options, tombstones: false });
    assert.equal(bare.length, 1, 'no tombstone');
    assert.deepStrictEqual(json(bare[0]!.key, true), { id: 5 });
  });

  test('an update changing the primary key: delete and tombstone of the old key, then a create under the new', () => {
    const created = event('c', 6n, 0, 1);
    const update: ChangeEvent = {
      ...created,
      op: 'u',
      before: { id: 5n, note: null },
      after: { id: 6n, note: 'moved' },
      unchanged: [],
    };
    const records = debeziumRecords(update, null, 0n, options);
    assert.deepStrictEqual(
      records.map((r) => [json(r.key, true), (json(r.value, true) as { op: string } | null)?.op ?? null]),
      [
        [{ id: 5 }, 'd'],
        [{ id: 5 }, null],
        [{ id: 6 }, 'c'],
      ],
    );
    const end = new TransactionTracker('cdc.shop').next(update).end;
    assert.equal(
      (json(end!.value, true) as { event_count: number }).event_count,
      2,
      'END counts both records',
    );
    const same = debeziumRecords({ ...update, before: { id: 6n, note: 'x' } }, null, 0n, options);
    assert.equal(same.length, 1);
    assert.equal((json(same[0]!.value) as { payload: { op: string } }).payload.op, 'u');
  });

  test('transaction metadata: BEGIN before the first event, END after the last with counts per table', () => {
    const tracker = new TransactionTracker('cdc.shop');
    const first = tracker.next(event('c', 1n, 0, null));
    const second = tracker.next(event('c', 2n, 1, 2));
    assert.deepStrictEqual(json(first.begin!.value, true), {
      status: 'BEGIN',
      id: '571:4096',
      event_count: null,
      data_collections: null,
      ts_ms: 1_700_000_000_123,
    });
    assert.equal(first.end, null);
    assert.deepStrictEqual(second.order, { id: '571:4096', totalOrder: 2, dataCollectionOrder: 2 });
    assert.equal(second.begin, null);
    assert.deepStrictEqual(json(second.end!.value, true), {
      status: 'END',
      id: '571:4096',
      event_count: 2,
      data_collections: [{ data_collection: 'public.orders', event_count: 2 }],
      ts_ms: 1_700_000_000_123,
    });
    assert.equal(second.end!.topic, 'cdc.shop.transaction');
  });
});

describe("Java's default partitioner", () => {
  test('murmur2 values of Kafka’s own test vectors, modulo the partitions', () => {
    // Utils.murmur2 results from Kafka's UtilsTest.
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases)
      for (const partitions of [1, 3, 7, 100])
        assert.equal(javaPartition(Buffer.from(key), partitions), (hash & 0x7fffffff) % partitions, key);
  });
});
