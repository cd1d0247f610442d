/** Change events through Avro single-object encoding and back: exact values, rebuilt table schemas, evolution. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import avsc from 'avsc';
import { decodeEvent, encodeEvent, schemaIdOf, type WriterSchema } from '../../../schemas/avro/codec.ts';
import { writerSchemaFromJson } from '../../../schemas/avro/writer-schema.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { createLogger } from '../../../common/logger.ts';
import { fullRow, pgPosition, sampleEvents, sampleTable } from './samples.ts';

/** Longs as plain numbers (the values of these samples' keys exceed 2^53: read them as text). */
const plainLong = {
  fromBuffer: (buffer: Buffer): string => buffer.readBigInt64LE(0).toString(),
  toBuffer: (value: string): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: String,
  toJSON: Number,
  isValid: (value: unknown): boolean => typeof value === 'string',
  compare: (a: string, b: string): number => Number(BigInt(a) - BigInt(b)),
};

/** A schema store as a consumer has it: only the schema text, re-parsed, as if read from the schema topic. */
function storeOf(events: readonly ChangeEvent[]): (id: string) => WriterSchema | undefined {
  const byId = new Map<string, WriterSchema>();
  for (const event of events) {
    const { value } = encodeEvent(event).schemas;
    byId.set(value.id, writerSchemaFromJson(value.json));
  }
  return (id) => byId.get(id);
}

describe('change event codec', () => {
  test('every value kind round-trips exactly: bigint beyond 2^53, unsigned 64-bit, bytes, nested arrays with nulls, unicode, empty vs null', () => {
    const events = sampleEvents();
    const lookup = storeOf(events);
    for (const event of events) {
      const encoded = encodeEvent(event);
      const decoded = decodeEvent(encoded.key, encoded.value, lookup);
      assert.deepStrictEqual(decoded, event, `${event.op} event #${event.source.position.index}`);
    }
  });

  test('absent columns stay absent and SQL NULLs stay null', () => {
    const [, withNulls, keyOnlyUpdate] = sampleEvents();
    const lookup = storeOf([withNulls!]);
    const nulls = decodeEvent(null, encodeEvent(withNulls!).value, lookup);
    assert.equal(nulls.after?.Name, null);
    assert.ok(nulls.after !== null && 'Name' in nulls.after);
    const update = decodeEvent(null, encodeEvent(keyOnlyUpdate!).value, lookup);
    assert.deepStrictEqual(Object.keys(update.before ?? {}), ['id', 'line no']);
    assert.ok(update.op === 'u' && update.after !== null && !('doc' in update.after));
    assert.deepStrictEqual(update.op === 'u' ? update.unchanged : null, ['doc', 'blob']);
  });

  test('a plain Avro reader of the writer schema sees absent columns as cdc.event.Absent, not as null or zero', () => {
    const [, , keyOnlyUpdate] = sampleEvents();
    const encoded = encodeEvent(keyOnlyUpdate!);
    const plain = avsc.Type.forSchema(JSON.parse(encoded.schemas.value.json) as avsc.Schema, {
      wrapUnions: true,
      registry: { long: avsc.types.LongType.__with(plainLong) },
    });
    const record = plain.fromBuffer(encoded.value.subarray(10)) as {
      before: Record<string, Record<string, Record<string, unknown>>>;
      after: Record<string, Record<string, Record<string, unknown>>>;
    };
    const before = Object.values(record.before)[0]!;
    const after = Object.values(record.after)[0]!;
    // The branch a wrapped union value names (own properties only: one column is called `constructor`).
    const branch = (image: Record<string, Record<string, unknown>>, column: string): string[] =>
      Object.hasOwn(image, column) ? Object.keys(image[column]!) : [];
    // Outside the key-only old image: 'constructor' is NOT NULL, 'flag' nullable; neither reads as a value.
    assert.deepStrictEqual(branch(before, 'constructor'), ['cdc.event.Absent']);
    assert.deepStrictEqual(branch(before, 'flag'), ['cdc.event.Absent']);
    assert.deepStrictEqual(branch(before, 'id'), ['long']);
    // Unchanged TOAST values of the new image.
    assert.deepStrictEqual(branch(after, 'doc'), ['cdc.event.Absent']);
    assert.deepStrictEqual(branch(after, 'blob'), ['cdc.event.Absent']);
    assert.deepStrictEqual(branch(after, 'flag'), ['boolean']);
  });

  test('events written before the Absent branch (a placeholder in the field, the name in the list) still decode', () => {
    const [, , keyOnlyUpdate] = sampleEvents();
    const current = JSON.parse(encodeEvent(keyOnlyUpdate!).schemas.value.json) as {
      fields: { name: string; type: unknown }[];
    };
    // The previous writer schema: the same envelope with Row fields of just `type` or `['null', type]`.
    const row = (current.fields[0]!.type as [string, { fields: { type: unknown }[] }])[1];
    for (const field of row.fields) {
      const branches = field.type as unknown[];
      const kept = branches.filter(
        (branch) =>
          branch !== 'cdc.event.Absent' && (branch as { name?: string }).name !== 'cdc.event.Absent',
      );
      field.type = kept.length === 1 ? kept[0] : kept;
    }
    const previous = writerSchemaFromJson(JSON.stringify(current));
    const byNew = encodeEvent(keyOnlyUpdate!);
    const absent = (value: unknown): boolean =>
      typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
    const record = byNew.schemas.value.type.fromBuffer(byNew.value.subarray(10)) as Record<string, unknown>;
    for (const side of ['before', 'after'] as const) {
      const image = record[side] as Record<string, unknown>;
      for (const [name, value] of Object.entries(image))
        if (absent(value)) image[name] = name === 'constructor' ? 0 : null;
    }
    const old = Buffer.concat([previous.header, previous.type.toBuffer(record)]);
    const decoded = decodeEvent(null, old, (id) => (id === previous.id ? previous : undefined));
    assert.deepStrictEqual(decoded, keyOnlyUpdate);
  });

  test('the writer schema alone rebuilds the exact table schema', () => {
    const [event] = sampleEvents();
    const { value } = encodeEvent(event!).schemas;
    const decoded = decodeEvent(null, encodeEvent(event!).value, (id) =>
      id === value.id ? writerSchemaFromJson(value.json) : undefined,
    );
    assert.deepStrictEqual(decoded.table, sampleTable);
  });

  test('the schema id of each message is its own fingerprint, whatever message came before', () => {
    const message = (fingerprint: string): Buffer =>
      Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.from(fingerprint, 'hex'), Buffer.from([0])]);
    const ids = [
      'ffffffff00000001',
      '0000000100000000',
      'ffffffff00000001',
      '8000000000000000',
      '0000000000000000',
    ];
    assert.deepStrictEqual(
      [...ids, ...ids].map((id) => schemaIdOf(message(id))),
      [...ids, ...ids],
    );
  });

  test('the key is the single-object encoded key columns; a table without a key and a truncate have none', () => {
    const [insert, , , , , truncate] = sampleEvents();
    const encoded = encodeEvent(insert!);
    assert.ok(encoded.key !== null && encoded.schemas.key !== null);
    assert.equal(schemaIdOf(encoded.key), encoded.schemas.key.id);
    const decodedKey = encoded.schemas.key.type.decode(encoded.key, 10).value as Record<string, unknown>;
    assert.equal(decodedKey.id, fullRow.id);
    assert.equal(decodedKey.line_no, fullRow['line no']);
    assert.equal(encodeEvent(truncate!).key, null);
    const keyless: TableSchema = { ...sampleTable, key: [] };
    assert.equal(encodeEvent({ ...insert!, table: keyless }).key, null);
  });

  test('schema evolution: events written before and after a column was added, dropped or retyped each decode with their own schema', () => {
    const v1: TableSchema = {
      database: 'shop',
      schema: 'public',
      table: 'items',
      dialect: 'mysql',
      key: ['id'],
      beforeImage: 'full',
      columns: [
        { name: 'id', type: { kind: 'int32' }, sourceType: 'int', nullable: false },
        { name: 'qty', type: { kind: 'int32' }, sourceType: 'int', nullable: true },
        { name: 'gone', type: { kind: 'string' }, sourceType: 'text', nullable: true },
      ],
    };
    const v2: TableSchema = {
      ...v1,
      columns: [
        { name: 'id', type: { kind: 'int32' }, sourceType: 'int', nullable: false },
        {
          name: 'qty',
          type: { kind: 'decimal', precision: 10, scale: 3 },
          sourceType: 'decimal(10,3)',
          nullable: true,
        },
        { name: 'added', type: { kind: 'bytes' }, sourceType: 'blob', nullable: true },
      ],
    };
    // Only metadata changes (varchar length): the fingerprint must still differ, or old events would get new metadata.
    const v3: TableSchema = {
      ...v2,
      columns: v2.columns.map((c) => (c.name === 'qty' ? { ...c, sourceType: 'decimal(12,3)' } : c)),
    };
    const source = (index: number) => ({
      connector: 'm',
      position: pgPosition(100n, index),
      txId: 't',
      commitTimeMicros: 1n,
      origin: null,
      snapshot: false,
    });
    const events: ChangeEvent[] = [
      {
        op: 'c',
        table: v1,
        before: null,
        after: { id: 1, qty: 5, gone: 'x' },
        source: source(0),
        transaction: null,
      },
      {
        op: 'c',
        table: v2,
        before: null,
        after: { id: 2, qty: '5.250', added: new Uint8Array([9]) },
        source: source(1),
        transaction: null,
      },
      {
        op: 'c',
        table: v3,
        before: null,
        after: { id: 3, qty: '1.000', added: null },
        source: source(2),
        transaction: null,
      },
    ];
    const ids = new Set(events.map((event) => encodeEvent(event).schemas.value.id));
    assert.equal(ids.size, 3, 'three table versions, three fingerprints');
    const lookup = storeOf(events);
    for (const event of events)
      assert.deepStrictEqual(decodeEvent(null, encodeEvent(event).value, lookup), event);
  });

  test('errors name what is wrong: an unknown fingerprint, a value of the wrong type, an undeclared column, bytes that are not Avro', () => {
    const [event] = sampleEvents();
    // A table no test decoded before: decoders are cached per fingerprint.
    const unseen = encodeEvent({ ...event!, table: { ...sampleTable, table: 'never decoded' } });
    assert.throws(
      () => decodeEvent(null, unseen.value, () => undefined),
      (error: unknown) => {
        return (
          error instanceof CdcError &&
          error.code === 'SCHEMA_UNKNOWN' &&
          error.message.includes(unseen.schemas.value.id)
        );
      },
    );
    const wrongType = { ...event!, after: { ...fullRow, small: 'not a number' } } as ChangeEvent;
    assert.throws(() => encodeEvent(wrongType), /after\.[^ ]*small cannot hold "not a number"/);
    const extra = { ...event!, after: { ...fullRow, surprise: 1 } } as ChangeEvent;
    assert.throws(() => encodeEvent(extra), /does not declare: surprise/);
    assert.throws(
      () => decodeEvent(null, Buffer.from('{"json":true}'), () => undefined),
      /not an Avro single-object or Confluent wire-format message/,
    );
  });

  test('throughput: encode and decode of small rows (logged, not asserted)', () => {
    const table: TableSchema = {
      database: 'bench',
      schema: 'public',
      table: 'events',
      dialect: 'postgres',
      key: ['id'],
      beforeImage: 'key',
      columns: [
        { name: 'id', type: { kind: 'int64' }, sourceType: 'int8', nullable: false },
        { name: 'account', type: { kind: 'int32' }, sourceType: 'int4', nullable: false },
        {
          name: 'amount',
          type: { kind: 'decimal', precision: 12, scale: 2 },
          sourceType: 'numeric(12,2)',
          nullable: true,
        },
        { name: 'note', type: { kind: 'string' }, sourceType: 'text', nullable: true },
        { name: 'at', type: { kind: 'timestamptz' }, sourceType: 'timestamptz', nullable: false },
      ],
    };
    const count = 100_000;
    const events: ChangeEvent[] = [];
    for (let i = 0; i < count; i++) {
      events.push({
        op: 'c',
        table,
        before: null,
        after: {
          id: BigInt(i),
          account: i % 1000,
          amount: `${i}.25`,
          note: i % 3 === 0 ? null : 'hello',
          at: '2024-01-01 00:00:00.000001+00',
        },
        source: {
          connector: 'bench',
          position: pgPosition(BigInt(1000 + Math.floor(i / 10)), i % 10),
          txId: String(i),
          commitTimeMicros: 1n,
          origin: null,
          snapshot: false,
        },
        transaction: { id: String(i), index: i % 10, total: 10 },
      });
    }
    const lookup = storeOf(events.slice(0, 1));
    let started = performance.now();
    const encoded = events.map((event) => encodeEvent(event));
    const encodeMs = performance.now() - started;
    started = performance.now();
    let checksum = 0n;
    for (const message of encoded)
      checksum += decodeEvent(message.key, message.value, lookup).after?.id as bigint;
    const decodeMs = performance.now() - started;
    assert.equal(checksum, (BigInt(count) * BigInt(count - 1)) / 2n);
    createLogger({ name: 'avro-bench' }).info(
      {
        events: count,
        encodePerSecond: Math.round(count / (encodeMs / 1000)),
        decodePerSecond: Math.round(count / (decodeMs / 1000)),
      },
      'avro codec throughput',
    );
  });
});
