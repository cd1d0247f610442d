import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registryForm, toWireFormat } from '../../../schemas/avro/registry-form.ts';
import { encodeEvent, schemaIdOf, schemasOf } from '../../../schemas/avro/codec.ts';
import { subjectOf } from '../../../services/kafka/schema-registry/registry-schemas.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';

function table(extra: TableSchema['columns'] = []): TableSchema {
  return {
    database: 'shop',
    schema: 'public',
    table: 'items',
    dialect: 'postgres',
    columns: [{ name: 'id', type: { kind: 'int32' }, sourceType: 'integer', nullable: false }, ...extra],
    key: ['id'],
    beforeImage: 'key',
  };
}

test('the registry form has stable names across DDL and Avro defaults from column defaults', () => {
  const before = registryForm(schemasOf(table()).value.json);
  const after = registryForm(
    schemasOf(
      table([
        { name: 'level', type: { kind: 'int32' }, sourceType: 'integer', nullable: false, default: '7' },
      ]),
    ).value.json,
  );
  assert.equal(before.recordName, 'cdc.shop.public.items.Envelope');
  assert.equal(after.recordName, before.recordName, 'a DDL keeps the record name');
  const row = (JSON.parse(after.text) as { fields: { name: string; type: unknown[] }[] }).fields[0]!
    .type[1] as {
    fields: { name: string; default?: unknown }[];
  };
  assert.equal(row.fields.find((field) => field.name === 'level')?.default, 7);
  assert.equal(registryForm(schemasOf(table()).key!.json).recordName, 'cdc.shop.public.items.Key');
});

test('the wire format keeps the Avro body and its id reads back as registry:<id>', () => {
  const t = table();
  const encoded = encodeEvent({
    op: 't',
    table: t,
    before: null,
    after: null,
    source: {
      connector: 'pg',
      position: { commit: { kind: 'postgres', lsn: '0/10' }, index: 0 },
      txId: null,
      commitTimeMicros: 0n,
      origin: null,
      snapshot: false,
    },
    transaction: null,
  } as never);
  const wire = toWireFormat(258, encoded.value, 10);
  assert.equal(wire[0], 0);
  assert.equal(schemaIdOf(wire), 'registry:258');
  assert.deepEqual(wire.subarray(5), encoded.value.subarray(10));
});

test('subject name strategies', () => {
  assert.equal(
    subjectOf('topic-record', 'p.s.changes', 'cdc.a.Envelope', false),
    'p.s.changes-cdc.a.Envelope',
  );
  assert.equal(subjectOf('record', 'p.s.changes', 'cdc.a.Envelope', false), 'cdc.a.Envelope');
  assert.equal(subjectOf('topic', 'p.s.changes', 'cdc.a.Key', true), 'p.s.changes-key');
});

test('an invalid kafka.schemaRegistry names the field', () => {
  const text = JSON.stringify({
    name: 'x',
    kafka: { brokers: ['k:9092'], schemaRegistry: { url: 'ftp://r', subjectNameStrategy: 'table' } },
  });
  assert.throws(
    () => parseConfig(text, 'json', { env: {} }),
    /kafka\.schemaRegistry\.url[\s\S]*kafka\.schemaRegistry\.subjectNameStrategy|kafka\.schemaRegistry\.subjectNameStrategy[\s\S]*kafka\.schemaRegistry\.url/,
  );
});
