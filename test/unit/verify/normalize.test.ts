import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  normalizeDecimal,
  normalizeTimestamp,
  normalizeValue,
} from '../../../services/verify/normalize.ts';
import { encodeRow } from '../../../services/verify/row-hash.ts';
import { unifyKinds } from '../../../services/verify/kinds.ts';
import { matchesAny, splitTableName } from '../../../schemas/events/table-names.ts';

void describe('value normalization', () => {
  void test('booleans and integers meet in one form', () => {
    assert.equal(normalizeValue('boolean', 't'), '1');
    assert.equal(normalizeValue('boolean', 'f'), '0');
    assert.equal(normalizeValue('integer', '1'), '1');
    assert.equal(normalizeValue('integer', '-0'), '0');
    assert.equal(normalizeValue('integer', '18446744073709551615'), '18446744073709551615');
  });

  void test('decimals lose trailing and leading zeros and exponents, nothing else', () => {
    assert.equal(normalizeDecimal('12.3400'), '12.34');
    assert.equal(normalizeDecimal('-0.50'), '-0.5');
    assert.equal(normalizeDecimal('-0.000'), '0');
    assert.equal(normalizeDecimal('007'), '7');
    assert.equal(normalizeDecimal('1.5e3'), '1500');
    assert.equal(normalizeDecimal('15E-4'), '0.0015');
    assert.equal(normalizeDecimal('100'), '100');
    assert.equal(
      normalizeDecimal('12345678901234567890.123456789012345678'),
      '12345678901234567890.123456789012345678',
    );
    assert.equal(normalizeDecimal('NaN'), 'NaN');
  });

  void test('floats use one fixed representation', () => {
    assert.equal(normalizeValue('float', '1e+300'), '1e+300');
    assert.equal(normalizeValue('float', '1E300'), '1e+300');
    assert.equal(normalizeValue('float', '0.1'), '0.1');
    assert.equal(normalizeValue('float', '-0'), '0');
    assert.equal(normalizeValue('float', 'Infinity'), 'Infinity');
    assert.equal(normalizeValue('float', '-inf'), '-Infinity');
  });

  void test('timestamps become microsecond ISO text in UTC', () => {
    assert.equal(normalizeTimestamp('2024-02-29 12:34:56.1234'), '2024-02-29T12:34:56.123400Z');
    assert.equal(normalizeTimestamp('2024-02-29 12:34:56'), '2024-02-29T12:34:56.000000Z');
    assert.equal(normalizeTimestamp('2024-02-29 12:34:56.5+00'), '2024-02-29T12:34:56.500000Z');
    assert.equal(normalizeTimestamp('2024-03-01 01:30:00.000001+05:30'), '2024-02-29T20:00:00.000001Z');
    assert.equal(normalizeTimestamp('2024-02-29T23:00:00-02'), '2024-03-01T01:00:00.000000Z');
    assert.equal(normalizeTimestamp('infinity'), 'infinity');
  });

  void test('bytes are lowercase hex from either dialect', () => {
    assert.equal(normalizeValue('bytes', '\\x00FF10'), '00ff10');
    assert.equal(normalizeValue('bytes', new Uint8Array([0, 255, 16])), '00ff10');
    assert.equal(normalizeValue('bytes', '\\x'), '');
  });

  void test('json is canonical: sorted keys, no spaces, exact numbers', () => {
    assert.equal(
      canonicalJson('{"b": [1, 2.50], "a": {"z": null, "y": "é"}}'),
      canonicalJson('{"a":{"y":"é","z":null},"b":[1.0,2.5]}'),
    );
    assert.equal(canonicalJson('{"n": 12345678901234567890}'), '{"n":12345678901234567890}');
    assert.equal(canonicalJson('not json'), 'not json');
    assert.notEqual(canonicalJson('{"a": "1"}'), canonicalJson('{"a": 1}'));
  });

  void test('times, uuids and bits', () => {
    assert.equal(normalizeValue('time', '12:00:01.5'), '12:00:01.500000');
    assert.equal(normalizeValue('time', '-838:59:59'), '-838:59:59.000000');
    assert.equal(
      normalizeValue('uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'),
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    );
    assert.equal(normalizeValue('bit', '00101'), '101');
    assert.equal(normalizeValue('bit', '0000'), '0');
  });

  void test('a PostgreSQL array and the JSON array a MariaDB replica holds meet in one form', () => {
    const same = (element: Parameters<typeof normalizeValue>[2], pg: string, json: string) =>
      assert.equal(normalizeValue('array', pg, element), normalizeValue('array', json, element));
    same('text', '{a,"b c","d\\"e",NULL,""}', '["a","b c","d\\"e",null,""]');
    same('decimal', '{1.50,-0.10}', '[1.5,-0.1]');
    same('boolean', '{t,f,NULL}', '[true,false,null]');
    same('bytes', '{"\\\\x00ff"}', '["\\\\x00FF"]');
    same('json', '{"{\\"b\\": 1, \\"a\\": 2}"}', '["{\\"a\\":2,\\"b\\":1}"]');
    same('timestamp', '{"2024-01-02 03:04:05.5+00"}', '["2024-01-02 03:04:05.500000+00"]');
    same('integer', '{{1,2},{3,NULL}}', '[[1,2],[3,null]]');
    same('integer', '{}', '[]');
    assert.equal(normalizeValue('array', '{1,2}', 'integer'), '["1","2"]');
    assert.notEqual(normalizeValue('array', '{1,2}', 'integer'), normalizeValue('array', '[1,3]', 'integer'));
    // Neither form: compared as written.
    assert.equal(normalizeValue('array', 'not an array', 'text'), 'not an array');
  });

  void test('NULL stays distinct from the empty string in a row encoding', () => {
    assert.equal(normalizeValue('text', null), null);
    assert.notEqual(encodeRow([null, 'a']), encodeRow(['', 'a']));
    assert.notEqual(encodeRow(['ab', 'c']), encodeRow(['a', 'bc']));
  });
});

void describe('kinds and names', () => {
  void test('numeric kinds of either dialect meet; text takes the specific side', () => {
    assert.equal(unifyKinds('boolean', 'integer'), 'integer');
    assert.equal(unifyKinds('integer', 'decimal'), 'integer');
    assert.equal(unifyKinds('text', 'json'), 'json');
    assert.equal(unifyKinds('json', 'text'), 'json');
    assert.equal(unifyKinds('timestamp', 'timestamp'), 'timestamp');
    assert.equal(unifyKinds('array', 'json'), 'array');
    assert.equal(unifyKinds('json', 'array'), 'array');
    assert.equal(unifyKinds('array', 'text'), 'array');
  });

  void test('table names and patterns', () => {
    assert.deepEqual(splitTableName('shop.orders', null), { schema: 'shop', table: 'orders' });
    assert.deepEqual(splitTableName('orders', 'public'), { schema: 'public', table: 'orders' });
    assert.throws(() => splitTableName('orders', null), /must be written as "schema.table"/);
    assert.equal(matchesAny(['public.*'], { schema: 'public', table: 'a' }), true);
    assert.equal(matchesAny(['shop.ord*'], { schema: 'shop', table: 'orders' }), true);
    assert.equal(matchesAny(['shop.ord*'], { schema: 'shop', table: 'items' }), false);
    assert.equal(matchesAny(['*.items'], { schema: 'shop', table: 'items' }), true);
  });
});
