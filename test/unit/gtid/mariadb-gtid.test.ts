import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advanceMariadbPosition,
  compareMariadbPositions,
  formatMariadbPosition,
  mariadbPositionContains,
  mergeMariadbPositions,
  parseMariadbGtid,
  parseMariadbPosition,
} from '../../../schemas/positions/mariadb-gtid.ts';
import { CdcError } from '../../../common/errors.ts';
import {
  advanceGtidPosition,
  formatGtidPosition,
  gtidPositionContains,
  parseGtid,
  parseGtidPosition,
} from '../../../schemas/positions/gtid.ts';

void describe('MariaDB GTID positions', () => {
  void test('parse and format canonically, sorted by domain', () => {
    assert.equal(formatMariadbPosition(parseMariadbPosition(' 1-2-7, 0-1-42 ')), '0-1-42,1-2-7');
    assert.equal(formatMariadbPosition(parseMariadbPosition('')), '');
  });

  void test('seq numbers keep all 64 bits', () => {
    const text = '0-1-18446744073709551615';
    assert.equal(formatMariadbPosition(parseMariadbPosition(text)), text);
    assert.throws(() => parseMariadbPosition('0-1-18446744073709551616'), /out of range/);
  });

  void test('errors name the bad text', () => {
    for (const [text, detail] of [
      ['0-1', '"0-1"'],
      ['0-1-42,0-2-43', 'domain 0 listed twice'],
      ['0-1-x', '"0-1-x"'],
    ] as const) {
      assert.throws(
        () => parseMariadbPosition(text),
        (error: unknown) =>
          error instanceof CdcError &&
          error.code === 'POSITION_INVALID' &&
          error.message.includes(JSON.stringify(text)) &&
          error.message.includes(detail),
      );
    }
  });

  void test('contains: by seq within the domain; unknown domains are not executed', () => {
    const position = parseMariadbPosition('0-1-42,1-2-7');
    assert.equal(mariadbPositionContains(position, parseMariadbGtid('0-1-42')), true);
    assert.equal(mariadbPositionContains(position, parseMariadbGtid('0-3-41')), true);
    assert.equal(mariadbPositionContains(position, parseMariadbGtid('0-1-43')), false);
    assert.equal(mariadbPositionContains(position, parseMariadbGtid('2-1-1')), false);
  });

  void test('advance and merge move each domain forward only', () => {
    const position = parseMariadbPosition('0-1-42,1-2-7');
    assert.equal(
      formatMariadbPosition(advanceMariadbPosition(position, parseMariadbGtid('0-1-43'))),
      '0-1-43,1-2-7',
    );
    assert.equal(
      formatMariadbPosition(advanceMariadbPosition(position, parseMariadbGtid('0-1-40'))),
      '0-1-42,1-2-7',
    );
    assert.equal(
      formatMariadbPosition(advanceMariadbPosition(position, parseMariadbGtid('5-9-1'))),
      '0-1-42,1-2-7,5-9-1',
    );
    assert.equal(
      formatMariadbPosition(mergeMariadbPositions(position, parseMariadbPosition('0-1-40,1-3-9'))),
      '0-1-42,1-3-9',
    );
  });

  void test('compare is a partial order over domains', () => {
    const p = (text: string) => parseMariadbPosition(text);
    assert.equal(compareMariadbPositions(p('0-1-42'), p('0-1-43')), -1);
    assert.equal(compareMariadbPositions(p('0-1-42,1-1-1'), p('0-1-42')), 1);
    assert.equal(compareMariadbPositions(p('0-1-42'), p('0-2-42')), 0);
    assert.equal(compareMariadbPositions(p('0-1-42,1-1-5'), p('0-1-43,1-1-4')), null);
  });
});

void describe('flavor-neutral GTID positions', () => {
  void test('dispatch by flavor and refuse to mix flavors', () => {
    const maria = parseGtidPosition('mariadb', '0-1-5');
    assert.equal(formatGtidPosition(advanceGtidPosition(maria, parseGtid('mariadb', '0-1-6'))), '0-1-6');
    assert.equal(gtidPositionContains(maria, parseGtid('mariadb', '0-1-5')), true);
    const mysql = parseGtidPosition('mysql', '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5');
    assert.throws(
      () => gtidPositionContains(mysql, parseGtid('mariadb', '0-1-5')),
      /cannot combine a mysql GTID value with a mariadb one/,
    );
  });
});
