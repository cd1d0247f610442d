/**
 * Events an apply worker could not apply go to `<prefix>.<connector>.dlq`: the original key and value bytes
 * unchanged (so the event can be replayed or inspected with the same schema), with headers saying why and where
 * it came from. Written by an idempotent producer: a retry after a lost acknowledgement does not duplicate.
 * `cdc dlq list` and `cdc dlq replay` read it back (dlq-reader.ts, services/dlq/). The topic takes records as
 * large as the changelog does (kafka.maxEventBytes): an event that fails to apply is as large as it was when
 * it was published, and must fit here too.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { ConsumedEvent, UndecodableRecord } from './consumer.ts';
import { createKafka, destroyLeftoverSockets, kafkaError, producerConfig } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { DEFAULT_MAX_EVENT_BYTES } from './publisher.ts';
import { connectorTopics, ensureTopic, type TopicSettings } from './topics.ts';
import { formatPosition } from '../../schemas/positions/position.ts';
import { tableId } from '../../schemas/events/table-schema.ts';
import type { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface DeadLetterOptions extends KafkaCluster {
  readonly prefix: string;
  readonly connector: string;
  /** The replica whose apply worker writes here: several replicas of one source share the topic. */
  readonly replica?: string;
  readonly clientId?: string;
  readonly logger?: Logger;
  /** kafka.maxEventBytes: the largest event the changelog takes (default 1 MiB), so the largest dead letter. */
  readonly maxEventBytes?: number;
}

/**
 * Longest reason or error message kept in a header. An error can quote the whole value it refused, which the
 * record holds already; an unbounded header could push a dead letter past the topic's limit.
 */
const MAX_HEADER_TEXT = 2_000;
/** Room beside the event in the topic's max.message.bytes: batch and record framing, and the headers. */
const HEADER_ROOM_BYTES = 32 * 1024;

function capped(text: string): string {
  return text.length <= MAX_HEADER_TEXT ? text : `${text.slice(0, MAX_HEADER_TEXT)}… (cut)`;
}

export class DeadLetterPublisher {
  readonly topic: string;
  private readonly replica: string | undefined;
  private readonly maxMessageBytes: number;
  private readonly topicSettings: TopicSettings | undefined;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private producer: Promise<Producer> | null = null;

  constructor(options: DeadLetterOptions) {
    this.topic = connectorTopics(options.prefix, options.connector).deadLetter;
    this.replica = options.replica;
    this.maxMessageBytes = (options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES) + HEADER_ROOM_BYTES;
    this.topicSettings = options.topicCreation;
    this.logger = (options.logger ?? silentLogger).child({ component: 'dead-letter', topic: this.topic });
    this.kafka = createKafka({
      ...clusterOf(options),
      clientId: options.clientId ?? `${options.prefix}.dlq.${options.connector}`,
      logger: this.logger,
    });
  }

  async publish(consumed: ConsumedEvent, reason: string, error: CdcError): Promise<void> {
    const { event } = consumed;
    await this.send(consumed, reason, error, {
      'cdc.position': formatPosition(event.source.position),
      'cdc.table': tableId(event.table),
      'cdc.op': event.op,
    });
  }

  /** A record that could not be decoded: the same headers, except what only a decoded event can tell. */
  async publishUndecodable(record: UndecodableRecord, error: CdcError): Promise<void> {
    await this.send(record, error.message, error, {});
  }

  private async send(
    record: UndecodableRecord,
    reason: string,
    error: CdcError,
    eventHeaders: Record<string, string>,
  ): Promise<void> {
    const producer = await this.start();
    try {
      await producer.send({
        topic: this.topic,
        acks: -1,
        messages: [
          {
            key: record.key === null ? null : Buffer.from(record.key),
            value: record.value === null ? null : Buffer.from(record.value),
            headers: {
              'cdc.dlq.reason': capped(reason),
              'cdc.dlq.error.code': error.code,
              'cdc.dlq.error.message': capped(error.message),
              'cdc.dlq.source.topic': record.topic,
              'cdc.dlq.source.partition': String(record.partition),
              'cdc.dlq.source.offset': record.offset,
              ...(this.replica !== undefined ? { 'cdc.dlq.replica': this.replica } : {}),
              ...eventHeaders,
            },
          },
        ],
      });
    } catch (sendError) {
      throw kafkaError(sendError, `cannot write to the dead-letter topic ${this.topic}`, {
        topic: this.topic,
        offset: record.offset,
      });
    }
    this.logger.warn(
      { reason, code: error.code, source: `${record.topic}/${record.partition}@${record.offset}` },
      'event dead-lettered',
    );
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    try {
      if (producer) await (await producer).disconnect();
    } finally {
      destroyLeftoverSockets(this.kafka);
    }
  }

  private start(): Promise<Producer> {
    this.producer ??= (async () => {
      const topic = { partitions: 1, maxMessageBytes: this.maxMessageBytes, settings: this.topicSettings };
      await ensureTopic(this.kafka, this.topic, topic, this.logger);
      const producer = this.kafka.producer(producerConfig({ idempotent: true, maxInFlightRequests: 1 }));
      try {
        await producer.connect();
      } catch (error) {
        throw kafkaError(error, `cannot connect the dead-letter producer for ${this.topic}`);
      }
      return producer;
    })().catch((error: unknown) => {
      this.producer = null;
      throw error;
    });
    return this.producer;
  }
}
