/**
 * Candidate servers of a MariaDB source: the `candidates` setting (accepted, refused at its path), the choice of
 * the primary among probed servers, and which resume positions a server's binlog state holds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import { configProblems } from '../../support/config-problems.ts';
import type { Connection } from 'mysql2/promise';
import {
  choosePrimary,
  HeldProbe,
  missingFrom,
  positionMissingError,
  type CandidateProbe,
} from '../../../connectors/mysql/replication/candidates.ts';
import { parseMariadbGtid, parseMariadbPosition } from '../../../schemas/positions/gtid.ts';
import { CdcError, isRetriable } from '../../../common/errors.ts';
import { formatStatus } from '../../../services/cli/status-format.ts';

const config = (source: Record<string, unknown>) =>
  JSON.stringify({
    name: 'c',
    kafka: { brokers: ['127.0.0.1:59092'] },
    sources: [{ name: 'src', kind: 'mariadb', url: 'mysql://app:pw@db1:3306/shop', ...source }],
  });

void describe('candidates configuration', () => {
  void test('a list of URLs is accepted on a MariaDB source', () => {
    const parsed = parseConfig(config({ candidates: ['mysql://app:pw@db2:3306/shop'] }), 'json', { env: {} });
    const source = parsed.sources[0];
    assert.ok(source !== undefined && source.kind !== 'postgres');
    assert.deepEqual(source.candidates, ['mysql://app:pw@db2:3306/shop']);
  });

  void test('refusals name the field', () => {
    assert.deepEqual(configProblems(config({ candidates: ['postgres://db2/shop'] })), [
      'sources[0].candidates[0]: must use scheme mysql or mariadb, not "postgres"',
    ]);
    assert.deepEqual(
      configProblems(config({ candidates: ['mysql://app:pw@db2:3306/x', 'mysql://app:pw@db1/shop'] })),
      [
        'sources[0].candidates[1]: names the server db1:3306 again (also url): list each server of the group once',
      ],
    );
    const [mysqlProblem] = configProblems(config({ kind: 'mysql', candidates: ['mysql://app:pw@db2/shop'] }));
    assert.match(mysqlProblem ?? '', /^sources\[0\]\.candidates: is supported for MariaDB sources only/);
  });
});

const probe = (label: string, serverId: number, readOnly: boolean): CandidateProbe => ({
  url: `mysql://u@${label}`,
  label,
  serverId,
  readOnly,
});
const down = (label: string): CandidateProbe => ({ url: `mysql://u@${label}`, label, error: 'refused' });

void describe('choosing the primary', () => {
  void test('the one writable candidate, wherever it is listed', () => {
    const chosen = choosePrimary('src', [probe('a:1', 1, true), down('b:1'), probe('c:1', 3, false)], null);
    assert.equal(chosen.label, 'c:1');
  });

  void test('none writable, or several and none read now: retriable, naming each server', () => {
    assert.throws(
      () => choosePrimary('src', [probe('a:1', 1, true), down('b:1')], null),
      (error: unknown) =>
        error instanceof CdcError &&
        isRetriable(error) &&
        /a:1 \(server_id 1\) read-only; b:1 unreachable \(refused\)/.test(error.message),
    );
    assert.throws(
      () => choosePrimary('src', [probe('a:1', 1, false), probe('b:1', 2, false)], 'mysql://u@z:1'),
      /several candidate servers of source src are writable/,
    );
    assert.equal(
      choosePrimary('src', [probe('a:1', 1, false), probe('b:1', 2, false)], 'mysql://u@b:1').label,
      'b:1',
    );
  });
});

void describe('whether a binlog holds the resume position', () => {
  const state = ['0-1-100', '0-2-150', '1-7-3'].map(parseMariadbGtid);

  void test('a GTID of the same domain and server at or below the state is held', () => {
    assert.deepEqual(missingFrom(parseMariadbPosition('0-1-100,1-7-2'), state), []);
    assert.deepEqual(missingFrom(parseMariadbPosition('0-2-120'), state), []);
    assert.deepEqual(missingFrom(parseMariadbPosition(''), state), []);
  });

  void test('a later sequence number of that server, or an unknown domain or server, is missing', () => {
    assert.deepEqual(
      missingFrom(parseMariadbPosition('0-1-105,2-1-1'), state).map(
        (g) => `${g.domain}-${g.server}-${g.seq}`,
      ),
      ['0-1-105', '2-1-1'],
    );
    assert.deepEqual(missingFrom(parseMariadbPosition('0-3-10'), state).length, 1);
    const error = positionMissingError('src', 'db2:3306', [parseMariadbGtid('0-1-105')], 'x');
    assert.equal(error.code, 'SOURCE_POSITION_MISSING');
    assert.equal(isRetriable(error), false);
    assert.match(error.message, /GTID 0-1-105.*not in the binlog of db2:3306.*re-snapshot/);
  });
});

void test('cdc status names the candidate read now', () => {
  const connector = {
    name: 'src',
    kind: 'mariadb' as const,
    state: 'streaming' as const,
    stream: 'mariadb binlog as replica server id 7',
    confirmed: null,
    received: null,
    lagBytes: null,
    lagMillis: null,
    snapshot: null,
    lastError: null,
    server: { current: 'db2:3306', candidates: ['db1:3306', 'db2:3306'] },
  };
  assert.match(formatStatus({ connectors: [connector], workers: [] }), /server id 7 from db2:3306/);
});

void test('the primary watcher asks on one kept connection, and opens a new one only after a failure', async () => {
  const opened: { ended: boolean }[] = [];
  let failNext = false;
  const connect = (): Promise<Connection> => {
    const state = { ended: false };
    opened.push(state);
    const connection = {
      on: () => connection,
      query: () =>
        failNext
          ? ((failNext = false),
            Promise.reject(new Error('Connection lost: The server closed the connection.')))
          : Promise.resolve([[{ serverId: 2, readOnly: 0 }]]),
      end: () => {
        state.ended = true;
        return Promise.resolve();
      },
    };
    return Promise.resolve(connection as unknown as Connection);
  };
  const held = new HeldProbe('mysql://u@db2:3306/shop', connect);
  for (let i = 0; i < 5; i++)
    assert.deepEqual(await held.probe(), {
      url: 'mysql://u@db2:3306/shop',
      label: 'db2:3306',
      serverId: 2,
      readOnly: false,
    });
  assert.equal(opened.length, 1, 'five probes, one connection');
  failNext = true;
  const failed = await held.probe();
  assert.ok('error' in failed && /server closed/.test(failed.error));
  assert.equal(opened[0]!.ended, true, 'the failed connection is closed');
  assert.ok(!('error' in (await held.probe())));
  assert.equal(opened.length, 2, 'reconnected once after the failure');
  await held.close();
  assert.equal(opened[1]!.ended, true);
});
