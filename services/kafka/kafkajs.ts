/**
 * kafkajs as the rest of services/kafka imports it (type imports may name 'kafkajs' directly, lint checks the
 * rest): with our Produce request encoding and Fetch response decoding installed (produce-encoding.ts,
 * fetch-decoding.ts), and loaded only after its
 * per-partition grouping of a send's messages is replaced. kafkajs 2.2.4 groups with
 * `[...current, message]` for every message, copying the partition's array each time, which is quadratic in the
 * messages of one send and was the largest cost left of producing once records were encoded by us
 * (produce-encoding.ts). Its sendMessages module keeps the grouping function it required when it loaded, so the
 * replacement must be in `require.cache` first: hence one module through which kafkajs is loaded. Should
 * something load kafkajs before this module (a test importing it directly), the grouping stays kafkajs's:
 * slower, with the same result.
 */
import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { installFetchDecoding } from './fetch-decoding.ts';
import { installOffsetResetGuard } from './offset-reset-guard.ts';
import { installProduceEncoding } from './produce-encoding.ts';

interface GroupArgs {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly unknown[];
  readonly partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: unknown;
  }) => number;
}

/** kafkajs's groupMessagesPerPartition, in linear time: the same partitions, each with its messages in order. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  // One argument object for every message (the partitioner reads it and keeps nothing), not one each.
  const args: { topic: string; partitionMetadata: readonly unknown[]; message: unknown } = {
    topic,
    partitionMetadata,
    message: null,
  };
  for (const message of messages) {
    args.message = message;
    const partition = partitioner(args);
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);
const groupingPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const sendMessagesPath = require.resolve('kafkajs/src/producer/sendMessages.js');
if (require.cache[sendMessagesPath] === undefined) {
  require(groupingPath);
  require.cache[groupingPath]!.exports = groupMessagesPerPartition;
}

const kafkajs = require('kafkajs') as typeof KafkaJs;
installProduceEncoding();
installFetchDecoding();
installOffsetResetGuard();
export default kafkajs;
