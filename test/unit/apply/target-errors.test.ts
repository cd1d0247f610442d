/**
 * How a target failure is judged (PostgreSQL, then MariaDB/MySQL): a dropped connection (no SQLSTATE) and the retriable SQLSTATEs are
 * retried, a data error is not, and a value the client could not even send (a TypeError while serializing a
 * parameter, no SQLSTATE either) is not taken for a lost connection, which would retry it forever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgePostgresError } from '../../../services/apply/postgres/target-errors.ts';
import { judgeMysqlError } from '../../../services/apply/mysql/target-errors.ts';
import { targetError } from '../../../services/apply/target-errors.ts';

const judged = (error: unknown) => targetError(error, 'cannot apply', {}, judgePostgresError(error, false));
const withState = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a dropped connection and the retriable SQLSTATEs are retried', () => {
  for (const error of [
    new Error('Connection terminated unexpectedly'),
    withState('deadlock detected', '40P01'),
    withState('terminating connection due to administrator command', '57P01'),
  ]) {
    const result = judged(error);
    assert.equal(result.retriable, true, error.message);
  }
  assert.equal(judged(new Error('Connection terminated unexpectedly')).code, 'TARGET_UNREACHABLE');
});

test('a data error and a client-side serialization error are not retried', () => {
  const data = judged(withState('duplicate key value violates unique constraint "t_pkey"', '23505'));
  assert.equal(data.code, 'APPLY_FAILED');
  assert.equal(data.retriable, false);
  const client = judged(new TypeError('Do not know how to serialize a BigInt'));
  assert.equal(client.code, 'APPLY_FAILED');
  assert.equal(client.retriable, false);
  assert.match(client.message, /serialize a BigInt/);
});

test('MariaDB/MySQL: no errno is a lost connection, unless the client could not serialize a value', () => {
  const mysql = (error: unknown) => targetError(error, 'cannot apply', {}, judgeMysqlError(error, false));
  assert.equal(mysql(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).retriable, true);
  assert.equal(mysql(new Error('Connection lost: The server closed the connection.')).retriable, true);
  const client = mysql(new TypeError('Bind parameters must not contain undefined'));
  assert.equal(client.code, 'APPLY_FAILED');
  assert.equal(client.retriable, false);
});
