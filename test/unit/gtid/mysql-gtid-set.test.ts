import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  addMysqlGtid,
  compareMysqlGtidSets,
  formatMysqlGtidSet,
  mysqlGtidSetContains,
  parseMysqlGtid,
  parseMysqlGtidSet,
  subtractMysqlGtidSets,
  unionMysqlGtidSets,
} from '../../../schemas/positions/mysql-gtid-set.ts';
import { CdcError } from '../../../common/errors.ts';

interface Fixture {
  cases: { name: string; raw: string; canonical: string }[];
  invalid: { raw: string; names: string }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/mysql/gtid-executed.json', import.meta.url), 'utf8'),
) as Fixture;

const A = '2174b383-5441-11e8-b90a-c80aa9429562';
const B = '24da167f-5441-11e8-b90a-c80aa9429562';

void describe('MySQL GTID sets from recorded @@gtid_executed values', () => {
  for (const { name, raw, canonical } of fixture.cases) {
    void test(`parses and formats canonically: ${name}`, () => {
      const set = parseMysqlGtidSet(raw);
      assert.equal(formatMysqlGtidSet(set), canonical);
      assert.equal(formatMysqlGtidSet(parseMysqlGtidSet(canonical)), canonical);
    });
  }
  for (const { raw, names } of fixture.invalid) {
    void test(`rejects ${JSON.stringify(raw)} naming ${names}`, () => {
      assert.throws(
        () => parseMysqlGtidSet(raw),
        (error: unknown) =>
          error instanceof CdcError && error.code === 'POSITION_INVALID' && error.message.includes(names),
      );
    });
  }
});

void describe('MySQL GTID set operations', () => {
  const set = parseMysqlGtidSet(`${A}:1-3,${B}:1-12:15-19:21`);

  void test('contains tells executed transactions from gaps and unknown sources', () => {
    assert.equal(mysqlGtidSetContains(set, parseMysqlGtid(`${B}:12`)), true);
    assert.equal(mysqlGtidSetContains(set, parseMysqlGtid(`${B}:13`)), false);
    assert.equal(mysqlGtidSetContains(set, parseMysqlGtid(`${B}:21`)), true);
    assert.equal(mysqlGtidSetContains(set, parseMysqlGtid(`${A.toUpperCase()}:2`)), true);
    assert.equal(mysqlGtidSetContains(set, parseMysqlGtid('3e11fa47-71ca-11e1-9e33-c80aa9429562:1')), false);
  });

  void test('adding the missing transactions closes the gaps', () => {
    let filled = set;
    for (const gno of [13, 14, 20]) filled = addMysqlGtid(filled, parseMysqlGtid(`${B}:${gno}`));
    assert.equal(formatMysqlGtidSet(filled), `${A}:1-3,${B}:1-21`);
    assert.equal(
      addMysqlGtid(filled, parseMysqlGtid(`${B}:5`)),
      filled,
      'adding an executed GTID changes nothing',
    );
  });

  void test('union, subtraction and the subset order', () => {
    const other = parseMysqlGtidSet(`${B}:10-16`);
    assert.equal(formatMysqlGtidSet(unionMysqlGtidSets(set, other)), `${A}:1-3,${B}:1-19:21`);
    assert.equal(formatMysqlGtidSet(subtractMysqlGtidSets(set, other)), `${A}:1-3,${B}:1-9:17-19:21`);
    assert.equal(formatMysqlGtidSet(subtractMysqlGtidSets(other, set)), `${B}:13-14`);
    assert.equal(compareMysqlGtidSets(set, other), null);
    assert.equal(compareMysqlGtidSets(parseMysqlGtidSet(`${A}:1-2`), set), -1);
    assert.equal(compareMysqlGtidSets(set, parseMysqlGtidSet(`${A}:1-2`)), 1);
    assert.equal(compareMysqlGtidSets(set, parseMysqlGtidSet(formatMysqlGtidSet(set))), 0);
  });

  void test('transaction numbers beyond 2^53 stay exact', () => {
    const big = parseMysqlGtidSet(`${A}:9007199254740993-9223372036854775807`);
    assert.equal(mysqlGtidSetContains(big, parseMysqlGtid(`${A}:9007199254740993`)), true);
    assert.equal(mysqlGtidSetContains(big, parseMysqlGtid(`${A}:9007199254740992`)), false);
  });

  void test('a bad single GTID is named in the error', () => {
    assert.throws(
      () => parseMysqlGtid(`${A}-7`),
      /not a MySQL GTID: "2174b383-5441-11e8-b90a-c80aa9429562-7"/,
    );
  });
});
