/** User-defined type descriptions through the Avro value schema. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keySchemaOf, tableFromValueSchema, valueSchemaOf } from '../../../schemas/avro/table-avro.ts';
import { writerSchemaFromJson } from '../../../schemas/avro/writer-schema.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { sampleTable } from './samples.ts';

const withTypes: TableSchema = {
  ...sampleTable,
  userTypes: [
    { kind: 'enum', schema: 'inv', name: 'mood', labels: ['sad', 'ok'] },
    { kind: 'domain', schema: 'public', name: 'posint', baseType: 'integer', notNull: false, checks: [] },
    {
      kind: 'composite',
      schema: 'public',
      name: 'address',
      attributes: [
        { name: 'street', type: 'text' },
        { name: 'number', type: 'public.posint' },
      ],
    },
    {
      kind: 'range',
      schema: 'public',
      name: 'moodrange',
      subtype: 'inv.mood',
      multirange: { schema: 'public', name: 'moodmultirange' },
    },
  ],
};

void describe('user types in the Avro schema', () => {
  void test('a table rebuilt from its value schema keeps its user types, in order', () => {
    const schema = JSON.parse(JSON.stringify(valueSchemaOf(withTypes))) as unknown;
    assert.deepEqual(tableFromValueSchema(schema).table.userTypes, withTypes.userTypes);
  });

  void test('a table without user types has the schema it had before they were carried', () => {
    const schema = valueSchemaOf(sampleTable);
    assert.equal('cdc.userTypes' in schema, false);
    assert.equal(tableFromValueSchema(schema).table.userTypes, undefined);
  });

  void test('user types change the value schema id, never the key schema', () => {
    const id = (schema: unknown): string => writerSchemaFromJson(JSON.stringify(schema)).id;
    assert.notEqual(id(valueSchemaOf(withTypes)), id(valueSchemaOf(sampleTable)));
    assert.deepEqual(keySchemaOf(withTypes), keySchemaOf(sampleTable));
  });

  void test('an unknown kind is refused with the kind named', () => {
    const schema = {
      ...valueSchemaOf(sampleTable),
      'cdc.userTypes': [{ kind: 'base', schema: 's', name: 'n' }],
    };
    assert.throws(() => tableFromValueSchema(schema), /unknown user type kind: base/);
  });
});
