/**
 * services/kafka/kafkajs.ts loads kafkajs with its per-partition grouping replaced: kafkajs's send path gets ours,
 * and ours groups exactly as kafkajs's did. This file must not import kafkajs before that module.
 */
import { groupMessagesPerPartition } from '../../../services/kafka/kafkajs.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const groupingPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

/** kafkajs's own grouping, evaluated from its file apart from the module cache. */
function kafkajsGrouping(): typeof groupMessagesPerPartition {
  const module = { exports: null as unknown };
  const wrapped = vm.runInThisContext(`(function (module) {${readFileSync(groupingPath, 'utf8')}\n})`) as (
    module: object,
  ) => void;
  wrapped(module);
  return module.exports as typeof groupMessagesPerPartition;
}

test("kafkajs's send path gets our grouping, which gives kafkajs's partitions with each one's messages in order", () => {
  assert.equal(require(groupingPath), groupMessagesPerPartition);
  const messages = Array.from({ length: 50 }, (_, i) => ({ key: String(i), value: `v${i}` }));
  const partitioner = ({ message }: { message: unknown }): number =>
    Number((message as { key: string }).key) % 3;
  const args = { topic: 't', partitionMetadata: [{}, {}, {}], messages, partitioner };
  assert.deepStrictEqual(groupMessagesPerPartition(args), kafkajsGrouping()(args));
  const noMetadata = { ...args, partitionMetadata: [] };
  assert.deepStrictEqual(groupMessagesPerPartition(noMetadata), kafkajsGrouping()(noMetadata));
});
