/**
 * Reading a changelog topic back as a user of it would: a read_committed consumer group (ChangeConsumer)
 * reads until it has committed everything up to the topic's end as of the start, so the result is the whole
 * committed topic. `positionProblems` then lists every event whose position is not strictly after the one
 * before it: a duplicate or a reordering.
 */
import { createKafka } from '../../services/kafka/client.ts';
import { ChangeConsumer, type ConsumedEvent } from '../../services/kafka/consumer.ts';
import { comparePosition, formatPosition } from '../../schemas/positions/position.ts';
import { stack, uniqueName } from './stack.ts';
import { waitFor } from './wait.ts';

async function withAdmin<T>(
  work: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>,
  brokers: readonly string[] = stack.kafkaBrokers,
): Promise<T> {
  const admin = createKafka({ brokers, clientId: 'test-changelog' }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The high watermark of partition 0 (0 when the topic does not exist yet); the stack's Kafka unless `brokers`. */
export async function topicEnd(topic: string, brokers?: readonly string[]): Promise<bigint> {
  return withAdmin(async (admin) => {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return 0n;
    const offsets = await admin.fetchTopicOffsets(topic);
    return BigInt(offsets.find((entry) => entry.partition === 0)?.offset ?? '0');
  }, brokers);
}

async function committedOffset(groupId: string, topic: string, brokers?: readonly string[]): Promise<bigint> {
  return withAdmin(async (admin) => {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return BigInt(offsets[0]?.partitions.find((entry) => entry.partition === 0)?.offset ?? '-1');
  }, brokers);
}

/**
 * Every committed event of `topic` (partition 0), in offset order; schemas are read from `<prefix>._schemas`.
 * From the stack's Kafka unless `brokers` names another cluster.
 */
export async function readChangelog(
  prefix: string,
  topic: string,
  timeoutMs = 120_000,
  brokers: readonly string[] = stack.kafkaBrokers,
): Promise<ConsumedEvent[]> {
  const end = await topicEnd(topic, brokers);
  const groupId = uniqueName(`${prefix}.readback`);
  const consumer = new ChangeConsumer({ brokers, groupId, topics: [topic], prefix });
  const received: ConsumedEvent[] = [];
  const stop = new AbortController();
  const running = consumer.run((batch) => {
    received.push(...batch);
    return Promise.resolve();
  }, stop.signal);
  try {
    await Promise.race([
      waitFor(
        `read-back group ${groupId} to commit ${topic} up to offset ${end}`,
        async () => end === 0n || (await committedOffset(groupId, topic, brokers)) >= end,
        { timeoutMs, intervalMs: 250 },
      ),
      running.then(() => {
        throw new Error(`the read-back consumer of ${topic} stopped before reading the whole topic`);
      }),
    ]);
  } finally {
    stop.abort();
    await running;
  }
  await withAdmin((admin) => admin.deleteGroups([groupId]), brokers);
  return received;
}

/** Events whose position is not strictly after the previous event's: duplicates and reorderings. */
export function positionProblems(events: readonly ConsumedEvent[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  let previous: ConsumedEvent | undefined;
  for (const current of events) {
    const position = formatPosition(current.event.source.position);
    const first = seen.get(position);
    if (first !== undefined) problems.push(`${position} at offset ${current.offset} repeats offset ${first}`);
    else seen.set(position, current.offset);
    if (previous && comparePosition(previous.event.source.position, current.event.source.position) >= 0) {
      problems.push(
        `${position} at offset ${current.offset} is not after ${formatPosition(previous.event.source.position)} at offset ${previous.offset}`,
      );
    }
    previous = current;
  }
  return problems;
}

/**
 * Deletes topics and consumer groups a test created: the groups named, and every other group whose name starts
 * with `groupPrefix`, when given (private readers the service creates). Missing ones are fine. A group still holding a
 * member (a killed consumer, until its session times out) cannot be deleted yet, so each is retried until then.
 */
export async function deleteKafkaState(
  topics: readonly string[],
  groups: readonly string[],
  groupPrefix?: string,
  brokers?: readonly string[],
): Promise<void> {
  await withAdmin(async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 30_000 });
    const listed = (await admin.listGroups()).groups.map((entry) => entry.groupId);
    const prefixed = groupPrefix === undefined ? [] : listed.filter((group) => group.startsWith(groupPrefix));
    for (const group of new Set([...groups, ...prefixed])) {
      await waitFor(
        `consumer group ${group} to be deleted`,
        async () => {
          const present = (await admin.listGroups()).groups.some((entry) => entry.groupId === group);
          if (present) await admin.deleteGroups([group]);
          return true;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      );
    }
  }, brokers);
}
