/** Column defaults in the neutral form: which catalog texts become a default, and their trip through Avro. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent, encodeEvent } from '../../../schemas/avro/codec.ts';
import { keySchemaOf, tableFromValueSchema, valueSchemaOf } from '../../../schemas/avro/table-avro.ts';
import { writerSchemaFromJson } from '../../../schemas/avro/writer-schema.ts';
import { canonicalDefault, defaultValue } from '../../../schemas/events/column-default.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { pgPosition } from './samples.ts';

const table: TableSchema = {
  database: 'shop',
  schema: 'public',
  table: 'orders',
  dialect: 'postgres',
  key: ['id'],
  beforeImage: 'key',
  columns: [
    { name: 'id', type: { kind: 'int64' }, sourceType: 'bigint', nullable: false, default: '7' },
    { name: 'qty', type: { kind: 'int32' }, sourceType: 'integer', nullable: false, default: '0' },
    {
      name: 'tag',
      type: { kind: 'string', maxLength: 20 },
      sourceType: 'varchar(20)',
      nullable: true,
      default: "it's",
    },
    { name: 'note', type: { kind: 'string' }, sourceType: 'text', nullable: true },
    { name: 'empty', type: { kind: 'string' }, sourceType: 'text', nullable: true, default: '' },
  ],
};

void describe('column defaults', () => {
  void test('canonical text per type: exact ordinary values only', () => {
    const cases: readonly [ColumnSchema['type'], string, string | undefined][] = [
      [{ kind: 'int32' }, '-3', '-3'],
      [{ kind: 'int32' }, '+007', '7'],
      [{ kind: 'int32' }, '1.5', undefined],
      [{ kind: 'int16' }, '99999', undefined],
      [{ kind: 'int64' }, '-9223372036854775808', '-9223372036854775808'],
      [{ kind: 'uint64' }, '18446744073709551615', '18446744073709551615'],
      [{ kind: 'uint64' }, '-1', undefined],
      [{ kind: 'decimal', precision: 10, scale: 2 }, '1.5', '1.50'],
      [{ kind: 'decimal', precision: 10, scale: 2 }, '0', '0.00'],
      [{ kind: 'decimal', precision: 10, scale: 2 }, '1.555', undefined],
      [{ kind: 'decimal' }, '-1.5', '-1.5'],
      [{ kind: 'decimal' }, 'NaN', undefined],
      [{ kind: 'float64' }, '2.5e3', '2500'],
      [{ kind: 'float32' }, '0.1', '0.1'],
      [{ kind: 'float64' }, 'Infinity', undefined],
      [{ kind: 'boolean' }, 'true', 'true'],
      [{ kind: 'boolean' }, 'f', 'false'],
      [{ kind: 'string' }, 'NULL', 'NULL'],
      [{ kind: 'string' }, 'a\u0000b', undefined],
      [{ kind: 'enum', values: ['x', 'y'] }, 'y', 'y'],
      [{ kind: 'enum', values: ['x', 'y'] }, 'z', undefined],
      [{ kind: 'date' }, '2024-02-29', '2024-02-29'],
      [{ kind: 'date' }, '2023-02-29', undefined],
      [{ kind: 'date' }, '0000-00-00', undefined],
      [{ kind: 'date' }, 'infinity', undefined],
      [{ kind: 'time' }, '12:30:00.5', '12:30:00.5'],
      [{ kind: 'time' }, '838:59:59', undefined],
      [{ kind: 'time' }, '12:30:00+02', undefined],
      [{ kind: 'time', withTimeZone: true }, '12:30:00+02', '12:30:00+02'],
      [{ kind: 'timestamp' }, '2024-01-01 10:00:00.500', '2024-01-01 10:00:00.500'],
      [{ kind: 'timestamp' }, '2024-01-01', '2024-01-01 00:00:00'],
      [{ kind: 'timestamp' }, '2024-01-01 10:00:00+00', undefined],
      [{ kind: 'timestamptz' }, '2024-01-01 10:00:00+05:30', '2024-01-01 10:00:00+05:30'],
      [{ kind: 'timestamptz' }, '2024-01-01 10:00:00', undefined],
      [{ kind: 'uuid' }, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', undefined],
      [{ kind: 'json' }, '{}', undefined],
      [{ kind: 'bit', length: 1 }, '1', undefined],
    ];
    for (const [type, text, expected] of cases) {
      assert.equal(canonicalDefault(type, text), expected, `${JSON.stringify(type)} ${text}`);
    }
  });

  void test('a default becomes the value a connector decodes that stored value to', () => {
    const column = (type: ColumnSchema['type'], value: string): ColumnSchema => ({
      name: 'c',
      type,
      sourceType: type.kind,
      nullable: true,
      default: value,
    });
    assert.equal(defaultValue(column({ kind: 'int32' }, '-3')), -3);
    assert.equal(defaultValue(column({ kind: 'int64' }, '9223372036854775807')), 9223372036854775807n);
    assert.equal(defaultValue(column({ kind: 'boolean' }, 'false')), false);
    assert.equal(defaultValue(column({ kind: 'float64' }, '2500')), 2500);
    assert.equal(defaultValue(column({ kind: 'string' }, '')), '');
    assert.equal(
      defaultValue({ name: 'c', type: { kind: 'int32' }, sourceType: 'int', nullable: true }),
      undefined,
    );
  });

  void test('defaults ride in the value schema and come back; columns without one have none', () => {
    const schema = valueSchemaOf(table);
    const { table: decoded } = tableFromValueSchema(JSON.parse(JSON.stringify(schema)));
    assert.deepStrictEqual(decoded, table);
    assert.ok(!('default' in decoded.columns[3]!));

    const event = sampleInsert(table);
    const encoded = encodeEvent(event);
    const decodedEvent = decodeEvent(encoded.key, encoded.value, (id) =>
      id === encoded.schemas.value.id ? writerSchemaFromJson(encoded.schemas.value.json) : undefined,
    );
    assert.deepStrictEqual(decodedEvent.table, table);
  });

  void test('a default is part of the value schema identity but not of the key schema', () => {
    const without: TableSchema = {
      ...table,
      columns: table.columns.map(({ default: _default, ...column }) => column),
    };
    const fingerprint = (t: TableSchema) => encodeEvent(sampleInsert(t)).schemas;
    assert.notEqual(fingerprint(table).value.id, fingerprint(without).value.id);
    assert.equal(fingerprint(table).key?.id, fingerprint(without).key?.id);
    assert.deepStrictEqual(keySchemaOf(table), keySchemaOf(without));
  });
});

function sampleInsert(t: TableSchema): ChangeEvent {
  return {
    op: 'c',
    table: t,
    before: null,
    after: { id: 1n, qty: 2, tag: null, note: 'n', empty: '' },
    source: {
      connector: 'pg',
      position: pgPosition(100n, 0),
      txId: null,
      commitTimeMicros: 0n,
      origin: null,
      snapshot: false,
    },
    transaction: null,
  };
}
