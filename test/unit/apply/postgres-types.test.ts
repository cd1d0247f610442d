import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mapColumnType,
  normalizeTypeName,
  enumTypeNeeds,
} from '../../../services/apply/postgres/type-mapping.ts';
import { arrayLiteral, toParameter } from '../../../services/apply/postgres/values.ts';
import { microsToTimestamp, splitTypeName } from '../../../services/apply/postgres/sql.ts';
import { column, pgTable } from './events.ts';

void describe('PostgreSQL type mapping', () => {
  void test('maps neutral types of other dialects without losing range or precision', () => {
    assert.equal(mapColumnType({ kind: 'uint64' }), 'numeric(20,0)');
    assert.equal(mapColumnType({ kind: 'decimal', precision: 12, scale: 2 }), 'numeric(12,2)');
    assert.equal(mapColumnType({ kind: 'string', maxLength: 40 }), 'character varying(40)');
    assert.equal(mapColumnType({ kind: 'timestamp', precision: 6 }), 'timestamp(6) without time zone');
    assert.equal(mapColumnType({ kind: 'array', element: { kind: 'int32' } }), 'integer[]');
  });

  void test('normalizes aliases to the catalog spelling', () => {
    assert.equal(normalizeTypeName('int8'), 'bigint');
    assert.equal(normalizeTypeName('varchar(40)'), 'character varying(40)');
    assert.equal(normalizeTypeName('timestamptz'), 'timestamp with time zone');
    assert.equal(normalizeTypeName('timestamp(3) with time zone'), 'timestamp(3) with time zone');
    assert.equal(normalizeTypeName('timestamp'), 'timestamp without time zone');
    assert.equal(normalizeTypeName('numeric(12, 2)'), 'numeric(12,2)');
    assert.equal(normalizeTypeName('int4[]'), 'integer[]');
    assert.equal(normalizeTypeName('"Mood"'), '"Mood"');
  });

  void test('finds the enum types a PostgreSQL table needs, arrays of enums included', () => {
    const table = pgTable(
      'public',
      't',
      [
        column('m', 'public.mood', { kind: 'enum', values: ['sad', 'ok'] }),
        column('ms', 'public.mood[]', { kind: 'array', element: { kind: 'enum', values: ['sad', 'ok'] } }),
      ],
      [],
    );
    assert.deepEqual(
      enumTypeNeeds(table).map((n) => n.typeName),
      ['public.mood', 'public.mood'],
    );
  });

  void test('splits qualified type names', () => {
    assert.deepEqual(splitTypeName('public.mood'), { schema: 'public', name: 'mood' });
    assert.deepEqual(splitTypeName('"My Schema"."Mood"'), { schema: 'My Schema', name: 'Mood' });
    assert.equal(splitTypeName('numeric(3)'), null);
  });
});

void describe('PostgreSQL parameter values', () => {
  void test('keeps bigints, bytes and arrays exact', () => {
    assert.equal(toParameter(9223372036854775807n, { kind: 'int64' }), '9223372036854775807');
    assert.deepEqual(toParameter(new Uint8Array([0, 255]), { kind: 'bytes' }), Buffer.from([0, 255]));
    assert.equal(arrayLiteral(['a "b"', null, 'c\\d']), '{"a \\"b\\"",NULL,"c\\\\d"}');
    assert.equal(
      arrayLiteral([
        [1n, 2n],
        [3n, null],
      ]),
      '{{"1","2"},{"3",NULL}}',
    );
    assert.equal(toParameter(5n, { kind: 'bit', length: 4 }), '0101');
  });

  void test('formats commit times with microseconds', () => {
    assert.equal(microsToTimestamp(1_700_000_000_123_456n), '2023-11-14T22:13:20.123456Z');
  });
});
