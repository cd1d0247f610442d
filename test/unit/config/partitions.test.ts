import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';

const base = {
  name: 'p',
  kafka: { brokers: ['127.0.0.1:59092'], partitions: 3 },
  sources: [{ name: 'src', kind: 'postgres', url: 'postgres://u@h/db' }],
};

test('several changelog partitions are accepted for subscribers only', () => {
  assert.equal(parseConfig(JSON.stringify(base), 'json').kafka.partitions, 3);
});

test('several changelog partitions with a replica are refused, naming kafka.partitions and why', () => {
  const withReplica = {
    ...base,
    replicas: [{ name: 'dst', source: 'src', kind: 'postgres', url: 'postgres://u@h/db2' }],
  };
  assert.throws(
    () => parseConfig(JSON.stringify(withReplica), 'json'),
    (error: Error) => /kafka\.partitions: must be 1 while replicas are configured/.test(error.message),
  );
});
