/**
 * The last event position actually committed to a changelog topic, read from the messages themselves (their
 * `cdc.position` header) rather than from offset metadata.
 *
 * Why: kafkajs's OffsetFetch does not set `require_stable` (KIP-447), so right after a transactional commit,
 * and especially after a broker restart, the broker may answer with offsets that do not yet include pending
 * transactional commits: the stored position can be stale, and resuming from it re-publishes events. The log
 * cannot be stale in that way: after the producer was fenced, every transaction on the partition is settled,
 * and a read_committed fetch returns exactly the committed events.
 *
 * The tail may end in transaction markers and in records of aborted transactions, none of which a
 * read_committed reader sees; so the window read before the end grows until a user record shows up or the
 * whole partition was read.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { kafkaError } from './client.ts';
import { createConsumer } from './closable-consumer.ts';
import { comparePosition, parsePosition, type EventPosition } from '../../schemas/positions/position.ts';
import { CdcError, asCdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface TailOptions {
  /** Records read before the end in the first attempt (default 64); each further attempt reads 16 times more. */
  readonly window?: bigint;
  /** How long one read of the tail may take (default 30 s). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

const GROWTH = 16n;

/**
 * The highest `cdc.position` among the committed records of `topic`, or null when it has none. Every partition
 * is read: an ordered changelog writes partition 0 only, a keyed one spreads its events over all of them.
 */
export async function lastCommittedPosition(
  kafka: Kafka,
  topic: string,
  options: TailOptions = {},
): Promise<EventPosition | null> {
  let highest: EventPosition | null = null;
  for (const { partition, low, end } of await partitionBounds(kafka, topic)) {
    const found = await partitionTail(kafka, topic, partition, low, end, options);
    if (found !== null && (highest === null || comparePosition(found, highest) > 0)) highest = found;
  }
  return highest;
}

async function partitionTail(
  kafka: Kafka,
  topic: string,
  partition: number,
  low: bigint,
  end: bigint,
  options: TailOptions,
): Promise<EventPosition | null> {
  let window = options.window ?? 64n;
  for (;;) {
    const from = end - window > low ? end - window : low;
    if (from >= end) return null;
    const found = await highestPosition(kafka, topic, partition, from, end, options);
    if (found !== null || from === low) return found;
    window *= GROWTH;
  }
}

interface Bounds {
  readonly partition: number;
  readonly low: bigint;
  readonly end: bigint;
}

/** First offset and last stable offset (kafkajs lists offsets read_committed) of each partition. */
async function partitionBounds(kafka: Kafka, topic: string): Promise<Bounds[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map((entry) => ({ partition: entry.partition, low: BigInt(entry.low), end: BigInt(entry.offset) }))
      .sort((a, b) => a.partition - b.partition);
  } catch (error) {
    throw kafkaError(error, `cannot read the offsets of ${topic}`, { topic });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads [from, end) with a throwaway read_committed consumer group that never commits. Batches fetched before
 * the seek took effect (from the group's default start) only add positions at or before the tail, so they do
 * no harm; the read is complete once a batch reached `end - 1` (markers included).
 */
async function highestPosition(
  kafka: Kafka,
  topic: string,
  partition: number,
  from: bigint,
  end: bigint,
  options: TailOptions,
): Promise<EventPosition | null> {
  const logger = options.logger ?? silentLogger;
  const closable = createConsumer(
    kafka,
    {
      groupId: `${topic}.tail.${process.pid}.${randomBytes(4).toString('hex')}`,
      readUncommitted: false,
      // Short fetch waits: the fetch issued before the seek applies must not hold the read up.
      maxWaitTimeInMs: 100,
    },
    { what: `tail reader of ${topic}/${partition}`, logger },
  );
  const consumer = closable.consumer;
  // Written from consumer callbacks; an object keeps the compiler from narrowing them to their initial null.
  const read: { highest: EventPosition | null; failure: CdcError | null } = { highest: null, failure: null };
  let reached = false;
  let wake: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    wake = resolve;
  });
  try {
    await consumer.connect();
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.partition === partition && BigInt(payload.lastOffset) >= end - 1n) {
        reached = true;
        wake();
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      read.failure ??= kafkaError(payload.error, `cannot read the end of ${topic}`, { topic });
      wake();
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        if (batch.partition !== partition || read.failure !== null) return Promise.resolve();
        try {
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (offset < from || offset >= end) continue;
            const header = message.headers?.['cdc.position'];
            const text = Array.isArray(header) ? header.at(-1) : header;
            if (text === undefined) {
              // Not ours (someone else wrote to the changelog): it has no position to resume after.
              logger.warn({ topic, offset: message.offset }, 'changelog record without cdc.position ignored');
              continue;
            }
            const position = parsePosition(text.toString());
            if (read.highest === null || comparePosition(position, read.highest) > 0) read.highest = position;
          }
        } catch (error) {
          read.failure = asCdcError(
            error,
            'POSITION_INVALID',
            `cannot read the position of a record in ${topic}`,
            {
              topic,
            },
          );
          wake();
        }
        return Promise.resolve();
      },
    });
    consumer.seek({ topic, partition, offset: from.toString() });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(wake, timeoutMs);
    await done;
    clearTimeout(timer);
    if (read.failure !== null) throw read.failure;
    if (!reached) {
      throw new CdcError(
        'KAFKA_UNAVAILABLE',
        `reading the end of ${topic}/${partition} (offsets ${from} to ${end}) did not finish within ${timeoutMs} ms`,
        { topic },
      );
    }
  } catch (error) {
    throw kafkaError(error, `cannot read the end of ${topic}`, { topic });
  } finally {
    await closable.close();
  }
  return read.highest;
}
