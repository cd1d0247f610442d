import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';

const base = {
  name: 'p',
  kafka: { brokers: ['127.0.0.1:59092'] },
  sources: [{ name: 'src', kind: 'postgres', url: 'postgres://u@h/db' }],
};

test('the changelog has one partition unless told otherwise', () => {
  assert.equal(parseConfig(JSON.stringify(base), 'json').kafka.partitions, 1);
});

test('several changelog partitions are refused, naming kafka.partitions and why: they would stay empty', () => {
  for (const replicas of [
    [],
    [{ name: 'dst', source: 'src', kind: 'postgres', url: 'postgres://u@h/db2' }],
  ]) {
    const config = { ...base, kafka: { ...base.kafka, partitions: 3 }, replicas };
    assert.throws(
      () => parseConfig(JSON.stringify(config), 'json'),
      (error: Error) => /kafka\.partitions: must be 1: .*would stay empty/.test(error.message),
    );
  }
});
