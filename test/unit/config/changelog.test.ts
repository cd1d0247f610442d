/**
 * `sources[].changelog`: the mode is explicit, ordered by default, and a keyed changelog is refused where a
 * replica needs the source's total order or whole transactions, naming the field and why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { configProblems } from '../../support/config-problems.ts';

const keyedSource = {
  name: 'src',
  kind: 'postgres',
  url: 'postgres://u@h/db',
  changelog: { mode: 'keyed', partitions: 4 },
};
const replica = { name: 'dst', source: 'src', kind: 'postgres', url: 'postgres://u@h/db2', onError: 'stop' };

function config(source: object, replicas: readonly object[] = [replica]): string {
  return JSON.stringify({ name: 'p', kafka: { brokers: ['127.0.0.1:59092'] }, sources: [source], replicas });
}

test('a source is ordered unless told otherwise, and keyed with its partitions when told', () => {
  const ordered = parseConfig(config({ ...keyedSource, changelog: undefined }), 'json');
  assert.deepEqual(ordered.sources[0]!.changelog, { mode: 'ordered' });
  const keyed = parseConfig(config(keyedSource), 'json');
  assert.deepEqual(keyed.sources[0]!.changelog, { mode: 'keyed', partitions: 4 });
  const binlog = {
    name: 'src',
    kind: 'mariadb',
    url: 'mariadb://u@h/shop',
    changelog: keyedSource.changelog,
  };
  assert.deepEqual(parseConfig(config(binlog), 'json').sources[0]!.changelog, keyedSource.changelog);
});

test('a keyed changelog needs a partition count of 2 or more, named at its field', () => {
  for (const changelog of [
    { mode: 'keyed' },
    { mode: 'keyed', partitions: 1 },
    { mode: 'keyed', partitions: 2.5 },
  ])
    assert.deepEqual(configProblems(config({ ...keyedSource, changelog })), [
      'sources[0].changelog.partitions: must be a whole number of partitions from 2 to 1000 (one partition is mode "ordered")',
    ]);
  assert.match(
    configProblems(config({ ...keyedSource, changelog: { mode: 'sharded' } })).join('\n'),
    /^sources\[0\]\.changelog(\.mode)?: .*"ordered".*"keyed"/,
  );
  assert.match(
    configProblems(config({ ...keyedSource, changelog: { mode: 'ordered', partitions: 4 } })).join('\n'),
    /^sources\[0\]\.changelog.*partitions/,
  );
});

test('what needs the total order is refused with a keyed source, naming the field and why', () => {
  const refused = configProblems(
    config(keyedSource, [
      { ...replica, name: 'mm', conflicts: { enabled: true } },
      { ...replica, name: 'tier', originsByNode: { a: 'cdc_a' } },
      { ...replica, name: 'copy', via: { topicPrefix: 'east.cdc' } },
      { ...replica, name: 'dlq', onError: 'dead-letter' },
      { name: 'default', source: 'src', kind: 'postgres', url: 'postgres://u@h/db3' },
    ]),
  );
  const fields = refused.map((line) => line.slice(0, line.indexOf(':')));
  assert.deepEqual(fields, [
    'replicas[0].conflicts.enabled',
    'replicas[1].originsByNode',
    'replicas[2].via',
    'replicas[3].onError',
    'replicas[4].onError',
  ]);
  for (const line of refused)
    assert.match(line, /source "src" has a keyed changelog \(sources\[0\]\.changelog\.mode "keyed"\)/);
  assert.match(refused[0]!, /conflict handling needs whole source transactions in commit order/);
  assert.match(refused[3]!, /must be "stop" because .*dead-letter replay keeps one position per replica/);
  // The same replicas of an ordered source are accepted.
  const ordered = parseConfig(
    config({ ...keyedSource, changelog: { mode: 'ordered' } }, [
      { ...replica, conflicts: { enabled: true } },
    ]),
    'json',
  );
  assert.equal(ordered.replicas.length, 1);
});

test('kafka.partitions stays 1 and points to the keyed changelog', () => {
  const text = JSON.stringify({
    name: 'p',
    kafka: { brokers: ['127.0.0.1:59092'], partitions: 4 },
    sources: [{ name: 'src', kind: 'postgres', url: 'postgres://u@h/db' }],
  });
  assert.match(configProblems(text).join('\n'), /kafka\.partitions: must be 1: .*sources\[\]\.changelog/);
});
