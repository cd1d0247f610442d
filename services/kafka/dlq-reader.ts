/**
 * Reading a dead-letter topic back (services/kafka/dead-letter.ts writes it): its records in offset order with
 * the headers that say why each was set aside, and the replay progress of a replica, kept as the committed
 * offset of its replay group (`<prefix>.dlq-replay.<replica>`, joined only while a replay reads): the offset of
 * the next dead letter to replay. The replica's own stored replay position stays the truth
 * (services/dlq/replay.ts); the offset only says where reading starts again.
 */
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, destroyLeftoverSockets, kafkaError } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { createConsumer } from './closable-consumer.ts';
import { connectorTopics } from './topics.ts';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

/** One dead letter as it is in Kafka: the original record, and why and where it was set aside. */
export interface DeadLetterRecord {
  readonly offset: bigint;
  /** When it was dead-lettered, milliseconds since the Unix epoch. */
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly reason: string;
  readonly code: string;
  /** Where the record was in the changelog. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  /** Absent for a record no event could be decoded from. */
  readonly position: string | null;
  readonly table: string | null;
  readonly op: string | null;
  /** The replica whose apply worker set it aside; null for dead letters written before the header existed. */
  readonly replica: string | null;
}

/** The offsets of the dead-letter topic's single partition: `low` is the first kept, `high` the next written. */
export interface DeadLetterRange {
  readonly low: bigint;
  readonly high: bigint;
}

export interface DeadLetterTopicOptions extends KafkaCluster {
  readonly prefix: string;
  /** The source connector whose changes were dead-lettered. */
  readonly source: string;
  readonly logger?: Logger;
}

export function replayGroup(prefix: string, replica: string): string {
  return `${prefix}.dlq-replay.${replica}`;
}

export class DeadLetterTopic {
  readonly topic: string;
  private readonly prefix: string;
  private readonly kafka: Kafka;
  private readonly logger: Logger;

  constructor(options: DeadLetterTopicOptions) {
    this.topic = connectorTopics(options.prefix, options.source).deadLetter;
    this.prefix = options.prefix;
    this.logger = (options.logger ?? silentLogger).child({ component: 'dlq-reader', topic: this.topic });
    this.kafka = createKafka({
      ...clusterOf(options),
      clientId: `${options.prefix}.dlq-reader`,
      logger: this.logger,
    });
  }

  /** The partition's offsets; an empty range when nothing was ever dead-lettered (the topic does not exist). */
  range(): Promise<DeadLetterRange> {
    return this.withAdmin('read the offsets of', async (admin) => {
      if (!(await admin.listTopics()).includes(this.topic)) return { low: 0n, high: 0n };
      const [partition] = await admin.fetchTopicOffsets(this.topic);
      if (partition === undefined) return { low: 0n, high: 0n };
      return { low: BigInt(partition.low), high: BigInt(partition.high) };
    });
  }

  /** The offset of the next dead letter `replica` replays; 0 when it never replayed. */
  replayOffset(replica: string): Promise<bigint> {
    return this.withAdmin('read the replay progress of', async (admin) => {
      if (!(await admin.listTopics()).includes(this.topic)) return 0n; // nothing was ever dead-lettered
      const groupId = replayGroup(this.prefix, replica);
      const [topic] = await admin.fetchOffsets({ groupId, topics: [this.topic] });
      const offset = topic?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
      return BigInt(offset) < 0n ? 0n : BigInt(offset);
    });
  }

  /**
   * Hands the records in [from, until) to `handler` in offset order, a fetch at a time; resolves after the
   * last one was handled or the handler answered false (enough read), rejects with the handler's error
   * (nothing after it is handed over). `from` below the topic's first kept offset starts there.
   */
  async read(
    from: bigint,
    until: bigint,
    handler: (records: readonly DeadLetterRecord[]) => Promise<boolean | void>,
    signal?: AbortSignal,
  ): Promise<void> {
    // A private, never-committing group: kafkajs consumes only through a group. It is deleted afterwards.
    const groupId = `${this.prefix}.dlq-read.${process.pid}.${Date.now()}.${Math.floor(Math.random() * 1e9)}`;
    try {
      await this.consume(groupId, from, until, (records) => handler(records), signal);
    } finally {
      await this.withAdmin('delete the private reader group of', (admin) =>
        admin.deleteGroups([groupId]),
      ).catch((error: unknown) =>
        this.logger.debug({ err: error, groupId }, 'the private reader group stays until it expires'),
      );
    }
  }

  /**
   * Reads [from, until) as the replica's replay group, like `read`; the handler records progress with
   * `commit(next)`, the offset of the next dead letter to replay. Joining the group keeps two replays of the
   * same replica (in two processes) from reading together: the topic has one partition, and the one left
   * without it stops with DLQ_REPLAY_BUSY. What the other then reads again is skipped by position.
   */
  replay(
    replica: string,
    from: bigint,
    until: bigint,
    handler: (records: readonly DeadLetterRecord[], commit: (next: bigint) => Promise<void>) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.consume(replayGroup(this.prefix, replica), from, until, handler, signal, replica);
  }

  private async consume(
    groupId: string,
    from: bigint,
    until: bigint,
    handler: (
      records: readonly DeadLetterRecord[],
      commit: (next: bigint) => Promise<void>,
    ) => Promise<boolean | void>,
    signal: AbortSignal | undefined,
    replica?: string,
  ): Promise<void> {
    if (from >= until) return;
    const closable = createConsumer(
      this.kafka,
      { groupId, readUncommitted: false },
      { what: `reader of ${this.topic}`, logger: this.logger },
    );
    const consumer = closable.consumer;
    const finished = Promise.withResolvers<void>();
    const settle = (error?: unknown): void =>
      error === undefined ? finished.resolve() : finished.reject(error);
    const onAbort = (): void =>
      settle(new CdcError('STOPPED', `reading ${this.topic} stopped before offset ${until}`));
    signal?.addEventListener('abort', onAbort, { once: true });
    const commit = async (next: bigint): Promise<void> => {
      try {
        await consumer.commitOffsets([{ topic: this.topic, partition: 0, offset: next.toString() }]);
      } catch (error) {
        throw kafkaError(error, `cannot store the replay progress in ${groupId}`, { group: groupId });
      }
    };
    let done = false;
    try {
      await consumer.connect();
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) settle(kafkaError(payload.error, `reading ${this.topic} stopped`));
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        if (replica !== undefined && !(payload.memberAssignment[this.topic] ?? []).includes(0))
          settle(
            new CdcError(
              'DLQ_REPLAY_BUSY',
              `another replay of the dead letters of ${replica} is running (consumer group ${groupId}); wait for it to end`,
              { replica },
            ),
          );
      });
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          if (done || !payload.isRunning()) return;
          const records = batch.messages
            .filter((message) => BigInt(message.offset) >= from && BigInt(message.offset) < until)
            .map(toRecord);
          try {
            const more = records.length === 0 || (await handler(records, commit)) !== false;
            await payload.heartbeat();
            if (!more || BigInt(batch.lastOffset()) + 1n >= until) {
              done = true;
              settle();
            }
          } catch (error) {
            done = true;
            settle(error);
          }
        },
      });
      consumer.seek({ topic: this.topic, partition: 0, offset: from.toString() });
      await finished.promise;
    } catch (error) {
      throw kafkaError(error, `cannot read the dead-letter topic ${this.topic}`, { topic: this.topic });
    } finally {
      done = true;
      signal?.removeEventListener('abort', onAbort);
      await closable.close();
    }
  }

  close(): void {
    destroyLeftoverSockets(this.kafka);
  }

  private async withAdmin<T>(what: string, work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      return await work(admin);
    } catch (error) {
      throw kafkaError(error, `cannot ${what} the dead-letter topic ${this.topic}`, { topic: this.topic });
    } finally {
      await admin.disconnect();
    }
  }
}

function toRecord(message: KafkaMessage): DeadLetterRecord {
  const header = (name: string): string | null => {
    const value = message.headers?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) return null;
    return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  };
  return {
    offset: BigInt(message.offset),
    timestampMs: Number(message.timestamp),
    key: message.key,
    value: message.value,
    reason: header('cdc.dlq.reason') ?? '',
    code: header('cdc.dlq.error.code') ?? '',
    source: {
      topic: header('cdc.dlq.source.topic') ?? '',
      partition: Number(header('cdc.dlq.source.partition') ?? 0),
      offset: header('cdc.dlq.source.offset') ?? '',
    },
    position: header('cdc.position'),
    table: header('cdc.table'),
    op: header('cdc.op'),
    replica: header('cdc.dlq.replica'),
  };
}
