/** Read-your-writes tokens: parsed per dialect, refused naming the parameter, and compared with a capture's read point. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CdcError } from '../../../common/errors.ts';
import { parseLsn } from '../../../schemas/positions/lsn.ts';
import { parseWaitToken, readCovers } from '../../../services/pipeline/wait-token.ts';

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof CdcError && error.code === 'REQUEST_INVALID' && pattern.test(error.message);

void test('a PostgreSQL token is covered by a read point at or past it, never before', () => {
  const token = parseWaitToken('0/16B3748', 'postgres', 'src');
  assert.equal(readCovers(token, { kind: 'pg', lsn: parseLsn('0/16B3747') }), false);
  assert.equal(readCovers(token, { kind: 'pg', lsn: parseLsn('0/16B3748') }), true);
  assert.equal(readCovers(token, { kind: 'pg', lsn: parseLsn('1/0') }), true);
});

void test('a MariaDB token is covered once every domain of it is executed', () => {
  const token = parseWaitToken('0-1-10,1-2-5', 'mariadb', 'src');
  const read = (gtidSet: string) => ({
    kind: 'binlog' as const,
    flavor: 'mariadb' as const,
    gtidSet,
    seq: 1n,
  });
  assert.equal(readCovers(token, read('0-1-10')), false);
  assert.equal(readCovers(token, read('0-1-9,1-2-7')), false);
  assert.equal(readCovers(token, read('0-1-10,1-2-5')), true);
  assert.equal(readCovers(token, read('0-1-12,1-2-6,2-3-1')), true);
});

void test('malformed tokens and tokens of another dialect are refused naming position and the dialect', () => {
  assert.throws(() => parseWaitToken('', 'postgres', 'src'), refused(/^position: "" is empty/));
  assert.throws(() => parseWaitToken('zz/1', 'postgres', 'src'), refused(/position.*not a PostgreSQL LSN/));
  assert.throws(
    () => parseWaitToken('0-1-5', 'postgres', 'src'),
    refused(/MariaDB GTID position, of another dialect/),
  );
  assert.throws(
    () => parseWaitToken('0/16B3748', 'mariadb', 'src'),
    refused(/PostgreSQL LSN.*@@gtid_binlog_pos/),
  );
});
