/**
 * Parsing Canonical Form and CRC-64-AVRO fingerprints against the Avro project's published test vectors
 * (apache/avro share/test/data/schema-tests.txt; fingerprints there are Java's signed 64-bit longs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import avsc from 'avsc';
import { parsingCanonicalForm } from '../../../schemas/avro/canonical-form.ts';
import { rabinFingerprint, schemaFingerprint } from '../../../schemas/avro/fingerprint.ts';
import { valueSchemaOf } from '../../../schemas/avro/table-avro.ts';
import { writerSchema } from '../../../schemas/avro/writer-schema.ts';
import { sampleTable } from './samples.ts';

const VECTORS: readonly { input: string; canonical: string; fingerprint?: string }[] = [
  { input: '"null"', canonical: '"null"', fingerprint: '7195948357588979594' },
  { input: '{"type":"null"}', canonical: '"null"' },
  { input: '"boolean"', canonical: '"boolean"', fingerprint: '-6970731678124411036' },
  { input: '"int"', canonical: '"int"', fingerprint: '8247732601305521295' },
  { input: '{"type":"long"}', canonical: '"long"', fingerprint: '-3434872931120570953' },
  { input: '"float"', canonical: '"float"', fingerprint: '5583340709985441680' },
  { input: '"double"', canonical: '"double"', fingerprint: '-8181574048448539266' },
  { input: '"bytes"', canonical: '"bytes"', fingerprint: '5746618253357095269' },
  { input: '"string"', canonical: '"string"', fingerprint: '-8142146995180207161' },
  { input: '[  ]', canonical: '[]', fingerprint: '-1241056759729112623' },
  { input: '[ "int"  ]', canonical: '["int"]', fingerprint: '-5232228896498058493' },
  {
    input: '[ "int" , {"type":"boolean"} ]',
    canonical: '["int","boolean"]',
    fingerprint: '5392556393470105090',
  },
  {
    input: '{"fields":[], "type":"record", "name":"foo"}',
    canonical: '{"name":"foo","type":"record","fields":[]}',
    fingerprint: '-4824392279771201922',
  },
  {
    input: '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    canonical: '{"name":"x.y.foo","type":"record","fields":[]}',
    fingerprint: '5916914534497305771',
  },
  {
    input: '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    canonical: '{"name":"a.b.foo","type":"record","fields":[]}',
    fingerprint: '-4616218487480524110',
  },
  {
    input: '{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
    canonical: '{"name":"foo","type":"record","fields":[]}',
    fingerprint: '-4824392279771201922',
  },
  {
    input: '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    canonical: '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    fingerprint: '7843277075252814651',
  },
  {
    input:
      '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    canonical:
      '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    fingerprint: '-4860222112080293046',
  },
  {
    input: '{"type":"enum", "name":"foo", "symbols":["A1"]}',
    canonical: '{"name":"foo","type":"enum","symbols":["A1"]}',
    fingerprint: '-6342190197741309591',
  },
  {
    input: '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    canonical: '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    fingerprint: '-4448647247586288245',
  },
  {
    input: '{"name":"foo","type":"fixed","size":15}',
    canonical: '{"name":"foo","type":"fixed","size":15}',
    fingerprint: '1756455273707447556',
  },
  {
    input: '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    canonical: '{"name":"x.y.z.foo","type":"fixed","size":32}',
    fingerprint: '-3064184465700546786',
  },
  {
    input: '{ "items":{"type":"null"}, "type":"array"}',
    canonical: '{"type":"array","items":"null"}',
    fingerprint: '-589620603366471059',
  },
  {
    input: '{ "values":"string", "type":"map"}',
    canonical: '{"type":"map","values":"string"}',
    fingerprint: '-8732877298790414990',
  },
  {
    input:
      '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    canonical:
      '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    fingerprint: '-1759257747318642341',
  },
];

describe('Avro Parsing Canonical Form and CRC-64-AVRO', () => {
  for (const [i, vector] of VECTORS.entries()) {
    test(`specification vector ${i}: ${vector.canonical}`, () => {
      const schema: unknown = JSON.parse(vector.input);
      assert.equal(parsingCanonicalForm(schema), vector.canonical);
      if (vector.fingerprint !== undefined) {
        assert.equal(BigInt.asIntN(64, schemaFingerprint(schema)).toString(), vector.fingerprint);
      }
    });
  }

  test('the empty input has the algorithm constant as fingerprint', () => {
    assert.equal(rabinFingerprint(new Uint8Array()), 0xc15d213aa4d7a795n);
  });

  test('a table value schema: our canonical form equals what avsc prints, and custom properties do not count', () => {
    const schema = valueSchemaOf(sampleTable);
    const canonical = parsingCanonicalForm(schema);
    assert.equal(
      canonical,
      JSON.stringify(avsc.Type.forSchema(schema as avsc.Schema, { wrapUnions: 'auto' }).schema()),
    );
    assert.doesNotMatch(canonical, /cdc\.sourceType/);
  });

  test('single-object header: C3 01 then the fingerprint little-endian', () => {
    const schema = writerSchema(valueSchemaOf(sampleTable));
    assert.equal(schema.header.toString('hex', 0, 2), 'c301');
    assert.equal(schema.header.readBigUInt64LE(2), schema.fingerprint);
    assert.equal(schema.id, schema.header.toString('hex', 2, 10));
  });
});
