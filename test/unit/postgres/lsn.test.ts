/** LSN text as PostgreSQL and the replication library print it, parsed exactly, and anything else refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLsn, parseLsn } from '../../../schemas/positions/lsn.ts';

test('both printed shapes parse to the same 64-bit position, and format back in the canonical shape', () => {
  assert.equal(parseLsn('0/197E028'), 0x197e028n);
  assert.equal(parseLsn('00000000/0197E028'), 0x197e028n);
  assert.equal(parseLsn('16/b374d848'), (0x16n << 32n) | 0xb374d848n);
  assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), 0xffffffffffffffffn);
  assert.equal(parseLsn(' 1/0\n'), 1n << 32n, 'surrounding white space is ignored');
  for (const lsn of [0n, 1n, 0xffffffffn, 0x100000000n, 0x12345678abcdefn, 0xffffffffffffffffn])
    assert.equal(parseLsn(formatLsn(lsn as never)), lsn);
});

test('text that is not an LSN is refused with the text in the message', () => {
  for (const text of [
    '',
    '/',
    '0/',
    '/0',
    '0/123456789',
    '123456789/0',
    '0/12G',
    '0 /1',
    '0/-1',
    '1/2/3',
    '0x1/0',
  ])
    assert.throws(
      () => parseLsn(text),
      (error: Error) => error.message === `not a PostgreSQL LSN: ${JSON.stringify(text)}`,
      text,
    );
});
