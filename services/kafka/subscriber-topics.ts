/**
 * Subscriber topics: each published change also written as Debezium writes it (schemas/debezium/), to a
 * topic per table, plus BEGIN/END records on the transaction topic, in the same Kafka transaction as the
 * changelog. So a subscriber reading with isolation.level=read_committed sees each change once, exactly when
 * the changelog has it; the changelog, the stored position and the apply workers are untouched.
 */
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { debeziumRecords, tableTopic, type DebeziumRecord } from '../../schemas/debezium/envelope.ts';
import type { SubscriberEncoding } from './subscriber-encoding.ts';
import { TransactionTracker, transactionTopic } from '../../schemas/debezium/transaction-metadata.ts';
import type { Logger } from '../../common/logger.ts';
import { chunks } from './capture-run.ts';
import { javaPartition } from './java-partitioner.ts';
import { ensureTopic } from './topics.ts';

export interface SubscriberTopicsOptions {
  /** Debezium's `topic.prefix`: topics are `<prefix>.<schema>.<table>` and `<prefix>.transaction`. */
  readonly prefix: string;
  /** `debezium-json` (JsonConverter text) or `debezium-avro` (AvroConverter's wire format, registry schemas). */
  readonly format: 'debezium-json' | 'debezium-avro';
  /** JSON: embed the Connect schema in each key and value (JsonConverter `schemas.enable=true`). */
  readonly schemas: boolean;
  /** Partitions of each per-table topic (the transaction topic has one: BEGIN/END stay in order). */
  readonly partitions: number;
  readonly tombstones: boolean;
  readonly transactionTopic: boolean;
  readonly binlogFlavor: 'mysql' | 'mariadb';
  /** Written as `source.version`. */
  readonly version: string;
}

export class SubscriberTopics {
  private readonly options: SubscriberTopicsOptions;
  private readonly encoding: SubscriberEncoding;
  private tracker: TransactionTracker | null;
  private readonly created = new Set<string>();

  constructor(options: SubscriberTopicsOptions, encoding: SubscriberEncoding) {
    this.options = options;
    this.encoding = encoding;
    this.tracker = this.newTracker();
  }

  /** Forgets transaction counters: a new run resumes after the last committed event. */
  restart(): void {
    this.tracker = this.newTracker();
  }

  topicOf(table: { schema: string; table: string }): string {
    return tableTopic(this.options.prefix, table);
  }

  /**
   * The records of `events` grouped into produce requests of at most `maxBytes` (each a sendBatch of many
   * topics and partitions), creating the topics they go to first. Per-key order holds: a key always maps to
   * one partition, and records keep the events' order within it.
   */
  async prepare(
    kafka: Kafka,
    events: readonly ChangeEvent[],
    limits: { maxBytes: number; maxMessages: number; maxMessageBytes: number },
    logger: Logger,
    signal: AbortSignal,
  ): Promise<TopicMessages[][]> {
    const records = this.records(events, BigInt(Date.now()) * 1000n);
    await this.encoding.prepare(records, signal);
    const byTopic = this.messages(records);
    for (const topic of byTopic.keys()) {
      if (this.created.has(topic)) continue;
      const partitions = topic === transactionTopic(this.options.prefix) ? 1 : this.options.partitions;
      await ensureTopic(kafka, topic, { partitions, maxMessageBytes: limits.maxMessageBytes }, logger);
      this.created.add(topic);
    }
    const requests: TopicMessages[][] = [];
    let current: TopicMessages[] = [];
    let size = 0;
    for (const [topic, messages] of byTopic) {
      for (const chunk of chunks(messages, limits.maxBytes, limits.maxMessages)) {
        const bytes = chunk.reduce((sum, m) => sum + (m.value?.length ?? 0) + (m.key?.length ?? 0) + 30, 0);
        if (current.length > 0 && size + bytes > limits.maxBytes) {
          requests.push(current);
          current = [];
          size = 0;
        }
        current.push({ topic, messages: chunk });
        size += bytes;
      }
    }
    if (current.length > 0) requests.push(current);
    return requests;
  }

  /** The records of `events` in order, BEGIN and END records of the transaction topic included. */
  records(events: readonly ChangeEvent[], nowMicros: bigint): DebeziumRecord[] {
    const records: DebeziumRecord[] = [];
    for (const event of events) {
      const ordered = this.tracker?.next(event) ?? null;
      if (ordered?.begin) records.push(ordered.begin);
      records.push(...debeziumRecords(event, ordered?.order ?? null, nowMicros, this.options));
      if (ordered?.end) records.push(ordered.end);
    }
    return records;
  }

  /**
   * Kafka messages by topic, in record order, each in the partition Java's default partitioner picks for its
   * key's bytes (as a Kafka Connect worker's producer would: the serialized key, so the format matters).
   */
  messages(records: readonly DebeziumRecord[]): Map<string, Message[]> {
    const byTopic = new Map<string, Message[]>();
    const transactions = transactionTopic(this.options.prefix);
    for (const record of records) {
      const partitions = record.topic === transactions ? 1 : this.options.partitions;
      const key = record.key === null ? null : this.encoding.encode(record.key, record.topic, true);
      // A table without a key has no per-key order to keep: its records all go to partition 0, in order.
      const partition = key === null ? 0 : javaPartition(key, partitions);
      const value = record.value === null ? null : this.encoding.encode(record.value, record.topic, false);
      let list = byTopic.get(record.topic);
      if (!list) byTopic.set(record.topic, (list = []));
      list.push({ key, value, partition });
    }
    return byTopic;
  }

  private newTracker(): TransactionTracker | null {
    return this.options.transactionTopic ? new TransactionTracker(this.options.prefix) : null;
  }
}
