/**
 * The embedded schema registry: writer schemas live in the compacted topic `<prefix>._schemas`, so the service
 * needs no registry server.
 *
 * Record layout, for consumers in any language: key = the schema id, value = the full Avro schema as JSON text
 * (UTF-8), header `cdc.fingerprint` = the CRC-64-AVRO fingerprint as an unsigned decimal. The schema id is the
 * hex of the 8 fingerprint bytes exactly as they sit in a message's single-object header (bytes 2..9 after
 * `C3 01`). To decode a changelog message elsewhere: read `<prefix>._schemas` from the beginning with
 * isolation level read_committed, index the records by key, take bytes 2..9 of the message value, hex-encode
 * them, parse the schema text found under that key with any Avro library (our `cdc.*` properties are ordinary
 * custom properties) and decode the bytes after the 10-byte header with it. The publisher writes a schema in the
 * same Kafka transaction as the first events that use it, so a committed event never lacks its schema.
 *
 * With `kafka.schemaRegistry` set, ids of the form `registry:<id>` (Confluent wire-format messages) are looked
 * up in that registry instead, so every reader of the changelog decodes both encodings through this one store.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import { createKafka, destroyLeftoverSockets, kafkaError, producerConfig } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { createConsumer, type ClosableConsumer } from './closable-consumer.ts';
import { ensureTopic, schemaTopic, type TopicSettings } from './topics.ts';
import { writerSchemaFromJson, type WriterSchema } from '../../schemas/avro/writer-schema.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { REGISTRY_ID_PREFIX } from '../../schemas/avro/codec.ts';
import { RegistrySchemas } from './schema-registry/registry-schemas.ts';

export interface SchemaStoreOptions extends KafkaCluster {
  readonly prefix: string;
  readonly clientId?: string;
  readonly logger?: Logger;
  /** How long a lookup waits for the reader to reach the end of the topic. */
  readonly catchUpTimeoutMs?: number;
}

export class SchemaStore {
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly catchUpTimeoutMs: number;
  private readonly topicSettings: TopicSettings | undefined;
  /** Schemas known to be committed in the topic: read back, or written and committed by us. */
  private readonly known = new Map<string, WriterSchema>();
  private producer: Producer | null = null;
  private reader: Promise<ClosableConsumer> | null = null;
  /** Offset up to which the reader has consumed the topic (read_committed), and who waits for it. */
  private position = 0n;
  private readonly waiters = new Set<() => void>();
  /** Counts close() calls, so a lookup that began before one does not start a reader after it. */
  private generation = 0;
  private topicReady: Promise<void> | null = null;
  /** The external registry, when `kafka.schemaRegistry` is set. */
  readonly registry: RegistrySchemas | null;

  constructor(options: SchemaStoreOptions) {
    this.topic = schemaTopic(options.prefix);
    this.logger = (options.logger ?? silentLogger).child({ component: 'schema-store', topic: this.topic });
    this.kafka = createKafka({
      ...clusterOf(options),
      clientId: options.clientId ?? 'cdc-schema-store',
      logger: this.logger,
    });
    this.catchUpTimeoutMs = options.catchUpTimeoutMs ?? 30_000;
    this.topicSettings = options.topicCreation;
    this.registry =
      options.schemaRegistry === undefined ? null : new RegistrySchemas(options.schemaRegistry, this.logger);
  }

  /** Creates the compacted schema topic if needed. */
  ensureTopic(): Promise<void> {
    this.topicReady ??= ensureTopic(
      this.kafka,
      this.topic,
      { partitions: 1, compacted: true, settings: this.topicSettings },
      this.logger,
    ).then(
      () => undefined,
      (error: unknown) => {
        this.topicReady = null;
        throw error;
      },
    );
    return this.topicReady;
  }

  isRegistered(id: string): boolean {
    return this.known.has(id);
  }

  /** The record that registers `schema`, for a caller that sends it in its own Kafka transaction. */
  registrationMessage(schema: WriterSchema): Message {
    return {
      key: schema.id,
      value: schema.json,
      partition: 0,
      headers: { 'cdc.fingerprint': schema.fingerprint.toString() },
    };
  }

  /** Records that a transaction carrying `registrationMessage(schema)` committed. */
  markRegistered(schema: WriterSchema): void {
    this.known.set(schema.id, schema);
  }

  /**
   * Registers a schema (idempotent: a known schema is not written again; a repeat is harmless anyway, the topic
   * is compacted by id). Inside `transaction` the schema becomes visible when that transaction commits, and the
   * caller marks it registered then; without one it is written by an idempotent producer at once.
   */
  async register(schema: WriterSchema, transaction?: Transaction): Promise<boolean> {
    if (this.known.has(schema.id)) return false;
    await this.ensureTopic();
    try {
      if (transaction) {
        await transaction.send({ topic: this.topic, messages: [this.registrationMessage(schema)] });
        return true;
      }
      this.producer ??= this.kafka.producer(producerConfig({ idempotent: true, maxInFlightRequests: 1 }));
      await this.producer.connect();
      await this.producer.send({ topic: this.topic, acks: -1, messages: [this.registrationMessage(schema)] });
    } catch (error) {
      throw kafkaError(error, `cannot register schema ${schema.id}`, {
        schemaId: schema.id,
        topic: this.topic,
      });
    }
    this.markRegistered(schema);
    return true;
  }

  /** A schema already in memory; synchronous, for decoding. */
  cached(id: string): WriterSchema | undefined {
    if (id.startsWith(REGISTRY_ID_PREFIX)) return this.registry?.cached(id);
    return this.known.get(id);
  }

  /** Finds a schema, reading the topic up to its current end (committed records only) when it is not cached. */
  async lookup(id: string): Promise<WriterSchema | undefined> {
    if (id.startsWith(REGISTRY_ID_PREFIX)) return this.registry?.lookup(id);
    const known = this.known.get(id);
    if (known) return known;
    await this.catchUp();
    return this.known.get(id);
  }

  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    this.generation++;
    const results = await Promise.allSettled([
      reader?.then((closable) => closable.close()),
      this.producer?.disconnect(),
    ]);
    this.producer = null;
    destroyLeftoverSockets(this.kafka);
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn({ error: errorMessage(result.reason) }, 'closing the schema store failed');
    }
  }

  private async catchUp(): Promise<void> {
    const generation = this.generation;
    await this.ensureTopic();
    const admin = this.kafka.admin();
    let end: bigint;
    try {
      await admin.connect();
      // kafkajs lists offsets read_committed: this is the last stable offset, where committed data ends.
      const offsets = await admin.fetchTopicOffsets(this.topic);
      end = BigInt(offsets.find((entry) => entry.partition === 0)?.offset ?? '0');
    } catch (error) {
      throw kafkaError(error, `cannot read the end of ${this.topic}`, { topic: this.topic });
    } finally {
      await admin.disconnect();
    }
    if (this.position >= end) return;
    if (generation !== this.generation) {
      // close() ran while this lookup was under way: a reader started now would outlive the store's owner.
      throw new CdcError('STOPPED', `the schema store of ${this.topic} was closed during a lookup`, {
        topic: this.topic,
      });
    }
    this.reader ??= this.startReader();
    await this.reader;
    const deadline = Date.now() + this.catchUpTimeoutMs;
    while (this.position < end) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        this.logger.warn(
          { position: String(this.position), end: String(end) },
          'schema topic reader did not reach the end in time',
        );
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** A consumer that tails the schema topic for the life of the store; its group is private and never commits. */
  private async startReader(): Promise<ClosableConsumer> {
    const closable = createConsumer(
      this.kafka,
      {
        groupId: `${this.topic}.reader.${process.pid}.${randomBytes(4).toString('hex')}`,
        readUncommitted: false,
        retry: { retries: 5 },
      },
      { what: `reader of ${this.topic}`, logger: this.logger },
    );
    const consumer = closable.consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      // Emitted for every batch, also for batches holding only transaction markers, which eachBatch never sees.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const next = BigInt(payload.lastOffset) + 1n;
        if (next > this.position) this.position = next;
        for (const wake of this.waiters) wake();
        this.waiters.clear();
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          for (const message of batch.messages) this.remember(message.key, message.value, message.offset);
          return Promise.resolve();
        },
      });
    } catch (error) {
      this.reader = null;
      await closable.close();
      throw kafkaError(error, `cannot read ${this.topic}`, { topic: this.topic });
    }
    return closable;
  }

  private remember(key: Buffer | null, value: Buffer | null, offset: string): void {
    if (key === null || value === null) return;
    try {
      const schema = writerSchemaFromJson(value.toString('utf8'));
      if (schema.id !== key.toString('utf8')) {
        this.logger.warn(
          { offset, key: key.toString('utf8'), computed: schema.id },
          'schema record key does not match its fingerprint; ignored',
        );
        return;
      }
      this.known.set(schema.id, schema);
    } catch (error) {
      this.logger.warn({ offset, error: errorMessage(error) }, 'unreadable schema record ignored');
    }
  }
}
