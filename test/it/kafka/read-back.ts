/**
 * Reads a changelog back through ChangeConsumer (read_committed) until the group has committed the whole topic
 * (its last stable offset when reading starts), so the result is everything in it: nothing missing, and any
 * duplicate would show.
 */
import { createKafka } from '../../../services/kafka/client.ts';
import { ChangeConsumer, type ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

export async function endOffset(topic: string): Promise<bigint> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-read-back' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return BigInt(offsets.find((entry) => entry.partition === 0)?.offset ?? '0');
  } finally {
    await admin.disconnect();
  }
}

async function committed(groupId: string, topic: string): Promise<bigint> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-read-back' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return BigInt(offsets[0]?.partitions.find((entry) => entry.partition === 0)?.offset ?? '-1');
  } finally {
    await admin.disconnect();
  }
}

export async function readBack(prefix: string, topic: string, timeoutMs = 90_000): Promise<ConsumedEvent[]> {
  const end = await endOffset(topic);
  const groupId = uniqueName('readback');
  const consumer = new ChangeConsumer({ brokers: stack.kafkaBrokers, groupId, topics: [topic], prefix });
  const received: ConsumedEvent[] = [];
  const stop = new AbortController();
  const running = consumer.run((batch) => {
    received.push(...batch);
    return Promise.resolve();
  }, stop.signal);
  try {
    await Promise.race([
      waitFor(
        `group ${groupId} to commit ${topic} up to ${end}`,
        async () => end === 0n || (await committed(groupId, topic)) >= end,
        {
          timeoutMs,
          intervalMs: 200,
        },
      ),
      running.then(() => {
        throw new Error('consumer stopped before reading the whole topic');
      }),
    ]);
  } finally {
    stop.abort();
    await running;
  }
  return received;
}
