import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import {
  namesStandby,
  synchronousStandbyNames,
  synchronousState,
  synchronousWarnings,
  type SynchronousState,
} from '../../../services/pipeline/synchronous-capture.ts';
import { configProblems } from '../../support/config-problems.ts';

const sync: SynchronousState = {
  standbyName: 'cdc:src',
  named: true,
  syncState: 'sync',
  synchronousCommit: 'on',
  waitingCommits: 0,
};

void describe('synchronous capture', () => {
  void test('every form of synchronous_standby_names is read, quoted names and case as the server does', () => {
    assert.deepEqual(synchronousStandbyNames('"cdc:src"'), ['cdc:src']);
    assert.deepEqual(synchronousStandbyNames('FIRST 1 (s1, "cdc:Src")'), ['s1', 'cdc:src']);
    assert.deepEqual(synchronousStandbyNames('any 2 (a,b ,  c)'), ['a', 'b', 'c']);
    assert.deepEqual(synchronousStandbyNames('2(a,b)'), ['a', 'b']);
    assert.deepEqual(synchronousStandbyNames('"we""ird, x", y'), ['we"ird, x', 'y']);
    assert.deepEqual(synchronousStandbyNames(''), []);
    assert.equal(namesStandby('*', 'cdc:src'), true);
    assert.equal(namesStandby('FIRST 1 ("CDC:SRC")', 'cdc:src'), true);
    assert.equal(namesStandby('"cdc:src2"', 'cdc:src'), false);
  });

  void test('an operator is told when commits do not wait, and when they wait on a capture that is down', () => {
    assert.deepEqual(synchronousWarnings(sync), []);
    assert.match(
      synchronousWarnings({ ...sync, named: false, syncState: 'async' })[0] ?? '',
      /do not wait for it: synchronous_standby_names does not name "cdc:src"; run ALTER SYSTEM SET synchronous_standby_names = '"cdc:src"'/,
    );
    assert.match(
      synchronousWarnings({ ...sync, synchronousCommit: 'local' })[0] ?? '',
      /synchronous_commit is local: commits do not wait/,
    );
    assert.match(synchronousWarnings({ ...sync, syncState: 'potential' })[0] ?? '', /is potential/);
    assert.deepEqual(synchronousWarnings({ ...sync, syncState: null, waitingCommits: 0 }), []);
    assert.match(
      synchronousWarnings({ ...sync, syncState: null, waitingCommits: 3 })[0] ?? '',
      /^3 source commit\(s\) are waiting for the capture "cdc:src", which is not connected/,
    );
  });

  void test('on by choice for PostgreSQL; refused for a binlog source, naming the field and why', () => {
    const config = (source: object) =>
      JSON.stringify({ name: 'demo', kafka: { brokers: ['127.0.0.1:9092'] }, sources: [source] });
    const pgSource = { name: 'pg', kind: 'postgres', url: 'postgres://u@h/db' };
    const postgres = parseConfig(config(pgSource), 'json').sources[0];
    assert.equal(postgres?.kind === 'postgres' && postgres.synchronous, false);
    const on = parseConfig(config({ ...pgSource, synchronous: true }), 'json').sources[0];
    assert.equal(on?.kind === 'postgres' && on.synchronous, true);
    const problems = configProblems(
      config({ name: 'm', kind: 'mariadb', url: 'mysql://u@h/shop', synchronous: true }),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^sources\[0\]\.synchronous: synchronous capture needs a PostgreSQL source/,
    );
  });
});

void test('a sample row reads as the state of the named capture', () => {
  const row = {
    sync_names: 'FIRST 1 ("CDC_Src", other)',
    sync_commit: 'on',
    sync_state: null,
    sync_waiting: '3',
  };
  assert.deepEqual(synchronousState(row, 'cdc_src'), {
    standbyName: 'cdc_src',
    named: true,
    syncState: null,
    synchronousCommit: 'on',
    waitingCommits: 3,
  });
});
