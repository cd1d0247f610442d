/**
 * The capture side: publishes a connector's change stream to its changelog topic with exactly-once effect.
 *
 * A transactional producer (transactionalId `<prefix>.capture.<connector>`) writes each run of capture batches
 * in one Kafka transaction, together with the schemas first used in it and, through `sendOffsets`, the
 * published position, last commit and connector state (as offset metadata of the private group
 * `<prefix>.capture.<connector>`). Either all of it becomes visible or none. After a crash, connecting again
 * fences the dead instance and completes or aborts its open transaction, so the stored position is exactly the
 * last published event: the connector resumes after it, and a guard drops anything at or before it.
 * The connector may release its log only once the transaction committed (`acknowledge`).
 */
import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import { CaptureRun, chunks } from './capture-run.ts';
import { lastCommittedPosition } from './changelog-tail.ts';
import { createKafka, kafkaError, producerConfig } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { closeWithin } from './closing.ts';
import { compressionType, type Compression } from './compression.ts';
import type { EventSizeLimit, OversizedPolicy } from './oversized.ts';
import { SchemaStore } from './schema-store.ts';
import type { RegistrySchemas } from './schema-registry/registry-schemas.ts';
import { registryForm } from '../../schemas/avro/registry-form.ts';
import type { WriterSchema } from '../../schemas/avro/writer-schema.ts';
import { retryConcurrentTransactions, TRANSACTION_RETRY } from './transaction-retries.ts';
import { connectorTopics, ensureTopic, type ConnectorTopics } from './topics.ts';
import { SubscriberTopics, type SubscriberTopicsOptions } from './subscriber-topics.ts';
import { subscriberEncoding } from './subscriber-encoding.ts';
import { KeyedLayout } from './keyed-changelog.ts';
import type {
  CaptureBatch,
  ConnectorState,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import {
  comparePosition,
  formatCommit,
  formatPosition,
  parseCommit,
  parsePosition,
} from '../../schemas/positions/position.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { ShutdownSteps } from '../../common/shutdown-steps.ts';

export interface PublisherOptions extends KafkaCluster {
  readonly prefix: string;
  readonly connector: string;
  readonly clientId?: string;
  readonly logger?: Logger;
  /**
   * Most events in one Kafka transaction (default 5,000). There is no linger: a run is written as soon as the
   * source has nothing more ready and no transaction is in flight (see `run`).
   */
  readonly maxEvents?: number;
  /**
   * A keyed changelog's partitions (sources[].changelog "keyed"): row changes are spread over them by key
   * (keyed-changelog.ts), and the topic must have exactly that many. Absent: one ordered partition.
   */
  readonly keyedPartitions?: number;
  /** Compression of the produced record batches (default none). */
  readonly compression?: Compression;
  /**
   * Most bytes of one encoded event, before compression (default 1 MiB). The changelog topic is created with a
   * `max.message.bytes` to match, or raised to it.
   */
  readonly maxEventBytes?: number;
  /** What happens to a larger event (default fail): see oversized.ts. */
  readonly oversizedEvents?: OversizedPolicy;
  /** Per-table Debezium-format topics written in the same transactions (see subscriber-topics.ts). */
  readonly subscriberTopics?: SubscriberTopicsOptions;
}

export interface PublisherStatus {
  readonly connector: string;
  readonly state: 'idle' | 'running' | 'stopped' | 'failed';
  readonly eventsPublished: number;
  readonly transactions: number;
  /** Events the guard dropped because they were at or before the published position. */
  readonly eventsSkipped: number;
  /** Events larger than kafka.maxEventBytes sent to the side topic instead of the changelog. */
  readonly eventsOversized: number;
  readonly schemasRegistered: number;
  readonly lastPublished: string | null;
  readonly lastCommit: string | null;
  readonly lastError: string | null;
}

/** Kafka's default `offset.metadata.max.bytes`: larger offset metadata is refused by the broker. */
const MAX_METADATA_BYTES = 4096;
/** Below the broker's default message.max.bytes (1 MiB) with room for batch overhead. */
const MAX_REQUEST_BYTES = 900_000;
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
/** Room in a topic's max.message.bytes for the record batch header and one record's framing. */
const BATCH_OVERHEAD_BYTES = 1024;
/**
 * Most messages in one produce request; MAX_REQUEST_BYTES is usually reached first (about 3,500 narrow rows).
 * kafkajs awaits each send of a transaction before the next (one request in flight, see `flush`), and in a
 * capture every await also waits behind the encoding of the next run on the same thread: 500 messages per send
 * made twenty such waits per 10,000 rows. The cap bounds kafkajs's own grouping, quadratic in a send's messages,
 * where it is still in use (kafkajs loaded before services/kafka/kafkajs.ts, as in some tests).
 */
const MAX_REQUEST_MESSAGES = 5000;

interface StoredPoint {
  readonly position: string | null;
  readonly commit: string | null;
  readonly state: ConnectorState | null;
}

type Next<T> = { ok: true; result: IteratorResult<T> } | { ok: false; error: unknown };
/** A wait ended without a batch: the event loop turned once, or the transaction in flight finished. */
const READY = Symbol('ready');

export class ChangePublisher {
  readonly topics: ConnectorTopics;
  private readonly options: PublisherOptions;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly schemas: SchemaStore;
  private readonly subscribers: SubscriberTopics | null;
  private readonly groupId: string;
  private producer: Producer | null = null;
  /** The "offset" stored with each transaction's metadata: only needs to increase. */
  private offsetCounter = 0n;
  private lastCommit: string | null = null;
  private counters = {
    eventsPublished: 0,
    transactions: 0,
    eventsSkipped: 0,
    eventsOversized: 0,
    schemasRegistered: 0,
  };
  private readonly limit: EventSizeLimit;
  private readonly compression: ReturnType<typeof compressionType>;
  private lastPublished: string | null = null;
  private lastError: string | null = null;
  private state: PublisherStatus['state'] = 'idle';
  /** The caller's stop signal of the current run: registry retries end with it. */
  private abort = new AbortController();

  constructor(options: PublisherOptions) {
    this.options = options;
    this.topics = connectorTopics(options.prefix, options.connector);
    this.groupId = `${options.prefix}.capture.${options.connector}`;
    this.logger = (options.logger ?? silentLogger).child({
      component: 'publisher',
      connector: options.connector,
    });
    this.kafka = createKafka({
      ...clusterOf(options),
      clientId: options.clientId ?? this.groupId,
      logger: this.logger,
      retry: TRANSACTION_RETRY,
    });
    this.schemas = new SchemaStore({ ...clusterOf(options), prefix: options.prefix, logger: this.logger });
    this.limit = {
      maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
      policy: options.oversizedEvents ?? 'fail',
      sideTopic: this.topics.oversized,
    };
    this.compression = compressionType(options.compression ?? 'none');
    this.subscribers = options.subscriberTopics
      ? new SubscriberTopics(
          options.subscriberTopics,
          subscriberEncoding(options.subscriberTopics, this.schemas),
        )
      : null;
  }

  /**
   * The last durably published position and connector state. This takes over the connector: it fences any other
   * instance with the same transactional id first, because only then is the stored point final.
   */
  async readResumePoint(): Promise<ResumePoint> {
    await this.ensureTopics();
    await this.connect();
    const admin = this.kafka.admin();
    let metadata: string | null = null;
    try {
      await admin.connect();
      const offsets = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topics.changelog] });
      const partition = offsets
        .find((entry) => entry.topic === this.topics.changelog)
        ?.partitions.find((entry) => entry.partition === 0);
      if (partition && partition.offset !== '-1') {
        this.offsetCounter = BigInt(partition.offset);
        metadata = partition.metadata;
      }
    } catch (error) {
      throw kafkaError(error, `cannot read the published position of ${this.options.connector}`, {
        group: this.groupId,
      });
    } finally {
      await admin.disconnect();
    }
    const stored = metadata === null || metadata === '' ? null : parseStored(metadata, this.groupId);
    const storedPosition = !stored || stored.position === null ? null : parsePosition(stored.position);
    // After fencing every transaction on the changelog is settled, so its committed tail is the truth.
    // Every partition: a keyed changelog's last event may be in any of them.
    const tail = await lastCommittedPosition(this.kafka, this.topics.changelog, { logger: this.logger });
    let position = storedPosition;
    if (tail !== null && (position === null || comparePosition(tail, position) > 0)) {
      // The offset metadata lagged behind the log (a stale OffsetFetch, or offsets expired or deleted). The
      // stored state is then older than the last published event: the connector redoes work from that state
      // (a snapshot chunk, for example) and the guard drops every event at or before the tail, so nothing is
      // published twice. The newer state is lost with the metadata; an older one only costs repeated reading.
      this.logger.warn(
        { stored: stored?.position ?? null, tail: formatPosition(tail) },
        'the changelog holds events past the stored position: resuming after its last event',
      );
      position = tail;
    }
    this.lastCommit = stored?.commit ?? null;
    this.lastPublished = position === null ? null : formatPosition(position);
    return { position, state: stored?.state ?? null };
  }

  /** Publishes the connector's stream until `signal` aborts (then flushes what was gathered) or a failure. */
  async run(connector: SourceConnector, signal: AbortSignal): Promise<void> {
    if (connector.name !== this.options.connector) {
      throw new CdcError(
        'CONFIG_INVALID',
        `publisher for ${this.options.connector} was given connector ${connector.name}`,
        { connector: connector.name },
      );
    }
    this.state = 'running';
    // The Kafka transaction being written in the background, whether it is still being written, and how it
    // ended if it failed.
    const flushing: { done: Promise<void>; busy: boolean; failure: { error: unknown } | null } = {
      done: Promise.resolve(),
      busy: false,
      failure: null,
    };
    // The source stream ends with the caller's signal, and also when publishing fails: a stream left suspended
    // would hold the replication slot or binlog connection until the process exits, so a restart could not
    // take it over.
    const source = new AbortController();
    const onAbort = (): void => {
      source.abort();
      this.abort.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.abort = new AbortController();
    if (signal.aborted) onAbort();
    let iterator: AsyncIterator<CaptureBatch> | null = null;
    try {
      const resume = await this.readResumePoint();
      this.subscribers?.restart();
      this.logger.info(
        { resume: this.lastPublished, commit: this.lastCommit },
        'publishing from resume point',
      );
      const registry = this.schemas.registry;
      let run = new CaptureRun(
        resume,
        (schema) =>
          registry === null ? this.schemas.isRegistered(schema.id) : registry.isRegistered(schema),
        this.limit,
        new Map(),
        this.options.keyedPartitions === undefined ? null : new KeyedLayout(this.options.keyedPartitions),
      );
      iterator = connector.stream(resume, source.signal)[Symbol.asyncIterator]();
      const maxEvents = this.options.maxEvents ?? 5000;
      // The next batch is requested before the current run is flushed, so the source keeps reading meanwhile.
      // A run's Kafka transaction is written while the next run gathers (encoding is CPU, the transaction mostly
      // waits on the broker); transactions still go out one after the other, in order, and the next one starts
      // only once the previous one committed, so the stored position never runs ahead of the published events.
      const startFlush = async (current: CaptureRun): Promise<CaptureRun> => {
        await flushing.done;
        if (flushing.failure !== null) throw flushing.failure.error;
        flushing.busy = true;
        flushing.done = this.flush(connector, current).then(
          () => {
            flushing.busy = false;
          },
          (error: unknown) => {
            flushing.busy = false;
            flushing.failure = { error };
          },
        );
        return current.next();
      };
      // No timer decides when a run is written: a lone source transaction goes out at once, and under load the
      // runs grow by themselves while the previous Kafka transaction is written (group commit). A run is written
      // when the source has nothing more ready (its next batch did not arrive within one turn of the event
      // loop) and no transaction is in flight, or when it is full.
      let next = settle(iterator.next());
      for (;;) {
        let waited: Next<CaptureBatch> | typeof READY;
        if (flushing.busy) waited = await Promise.race([next, flushing.done.then((): typeof READY => READY)]);
        else if (run.batches === 0) waited = await next;
        else waited = await Promise.race([next, nextTurn()]);
        if (waited === READY) {
          if (flushing.failure !== null) throw flushing.failure.error;
          if (!flushing.busy && run.batches > 0) run = await startFlush(run);
          continue;
        }
        if (!waited.ok) throw waited.error;
        if (waited.result.done) break;
        next = settle(iterator.next());
        run.add(waited.result.value, Date.now());
        if (run.events >= maxEvents || run.bytes >= MAX_REQUEST_BYTES * 4) run = await startFlush(run);
      }
      if (run.batches > 0) await startFlush(run);
      await flushing.done;
      if (flushing.failure !== null) throw flushing.failure.error;
      this.state = 'stopped';
    } catch (error) {
      this.state = 'failed';
      this.lastError = errorMessage(error);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      source.abort();
      const steps = new ShutdownSteps(this.logger);
      // A transaction still being written finishes (or fails) before the producer closes under it.
      await steps.step('the Kafka transaction in flight', () => flushing.done);
      await steps.step('the source stream', async () => {
        await iterator?.return?.()?.catch((error: unknown) => {
          this.logger.warn({ error: errorMessage(error) }, 'the source stream failed while closing');
        });
      });
      await steps.step('the transactional producer', () => this.close());
    }
  }

  status(): PublisherStatus {
    return {
      connector: this.options.connector,
      state: this.state,
      ...this.counters,
      lastPublished: this.lastPublished,
      lastCommit: this.lastCommit,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await Promise.all([
      closeWithin(this.kafka, `producer ${this.groupId}`, () => producer?.disconnect() ?? Promise.resolve(), {
        logger: this.logger,
      }),
      this.schemas.close().catch((error: unknown) => {
        this.logger.warn({ error: errorMessage(error) }, 'closing the schema store failed');
      }),
    ]);
  }

  private async ensureTopics(): Promise<void> {
    const keyed = this.options.keyedPartitions;
    const partitions = await ensureTopic(
      this.kafka,
      this.topics.changelog,
      {
        partitions: keyed ?? 1,
        maxMessageBytes: this.limit.maxEventBytes + BATCH_OVERHEAD_BYTES,
        settings: this.options.topicCreation,
      },
      this.logger,
    );
    // Keys are spread by the partition count: another count would put a key's later changes elsewhere.
    if (keyed !== undefined && partitions !== keyed)
      throw new CdcError(
        'CONFIG_INVALID',
        `sources[].changelog.partitions of ${this.options.connector} is ${keyed}, but its changelog topic ${this.topics.changelog} has ${partitions} partition(s): the layout is fixed when the topic is created; use a new topic (another kafka.topicPrefix, or delete the topic and rebuild the replicas) to change it`,
        {
          topic: this.topics.changelog,
          field: 'sources[].changelog.partitions',
          partitions,
          expected: keyed,
        },
      );
    if (this.limit.policy === 'sideTopic')
      await ensureTopic(
        this.kafka,
        this.topics.oversized,
        { partitions: 1, settings: this.options.topicCreation },
        this.logger,
      );
    if (this.schemas.registry === null) await this.schemas.ensureTopic();
  }

  private async connect(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer(
      producerConfig({
        transactionalId: this.groupId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 60_000,
      }),
    );
    try {
      // Initializes the transactional id: fences an older instance and settles its open transaction.
      await producer.connect();
    } catch (error) {
      throw kafkaError(error, `cannot start the transactional producer ${this.groupId}`, {
        transactionalId: this.groupId,
      });
    }
    this.producer = producer;
    return producer;
  }

  /** The run's subscriber-topic records as produce requests; their topics exist once this resolves. */
  private async subscriberRequests(run: CaptureRun): Promise<TopicMessages[][]> {
    if (this.subscribers === null || run.kept.length === 0) return [];
    return this.subscribers.prepare(
      this.kafka,
      run.kept,
      {
        maxBytes: Math.min(MAX_REQUEST_BYTES, this.limit.maxEventBytes),
        maxMessages: MAX_REQUEST_MESSAGES,
        maxMessageBytes: this.limit.maxEventBytes + BATCH_OVERHEAD_BYTES,
      },
      this.logger,
      this.abort.signal,
    );
  }

  /** Writes one run in one Kafka transaction, then acknowledges its last commit to the connector. */
  private async flush(connector: SourceConnector, run: CaptureRun): Promise<void> {
    const commit = run.commit === null ? this.lastCommit : formatCommit(run.commit);
    const stored: StoredPoint = {
      position: run.position === null ? null : formatPosition(run.position),
      commit,
      state: run.state,
    };
    const metadata = JSON.stringify(stored);
    const metadataBytes = Buffer.byteLength(metadata, 'utf8');
    if (metadataBytes > MAX_METADATA_BYTES) {
      throw new CdcError(
        'CAPTURE_STATE_TOO_LARGE',
        `connector ${this.options.connector} state is too large to store with its position: ${metadataBytes} bytes of JSON, at most ${MAX_METADATA_BYTES}`,
        { connector: this.options.connector, bytes: metadataBytes },
      );
    }
    const registry = this.schemas.registry;
    let messages = run.changelogMessages();
    if (registry !== null) {
      // Registered before the transaction: a registry is outside Kafka's transactions, and a schema registered
      // for a transaction that then aborts is harmless (it is registered again, under the same id, next time).
      for (const schema of run.newSchemas.values())
        await registry.register(schema, this.topics.changelog, isKeySchema(schema), this.abort.signal);
      messages = messages.map((message) => ({
        ...message,
        key: reframe(message.key, registry, run),
        value: reframe(message.value, registry, run),
      }));
    }
    const producer = await this.connect();
    const subscriberRequests = await this.subscriberRequests(run);
    const offset = (this.offsetCounter + 1n).toString();
    const transaction = await producer.transaction().catch((error: unknown) => {
      throw kafkaError(error, 'cannot begin a Kafka transaction', { transactionalId: this.groupId });
    });
    try {
      const records = async (): Promise<void> => {
        if (run.newSchemas.size > 0 && registry === null) {
          const messages = [...run.newSchemas.values()].map((schema) =>
            this.schemas.registrationMessage(schema),
          );
          await transaction.send({ topic: this.schemas.topic, acks: -1, messages });
        }
        // A multi-event send is one record batch, so it must stay under the topic's limit as one event does.
        const requestBytes = Math.min(MAX_REQUEST_BYTES, this.limit.maxEventBytes);
        const compression = this.compression;
        for (const chunk of chunks(messages, requestBytes, MAX_REQUEST_MESSAGES)) {
          await transaction.send({ topic: this.topics.changelog, acks: -1, compression, messages: chunk });
        }
        for (const topicMessages of subscriberRequests)
          await transaction.sendBatch({ topicMessages, acks: -1, compression });
        if (run.diverted.length > 0) {
          const messages = run.diverted;
          await transaction.send({ topic: this.limit.sideTopic, acks: -1, compression, messages });
        }
      };
      // kafkajs forwards `metadata` to TxnOffsetCommit although its typings omit the field.
      const partitionOffset = { partition: 0, offset, metadata };
      const offsets = (): Promise<void> =>
        retryConcurrentTransactions(() =>
          transaction.sendOffsets({
            consumerGroupId: this.groupId,
            topics: [{ topic: this.topics.changelog, partitions: [partitionOffset] }],
          }),
        );
      // The stored position goes out beside the records rather than after them: within a transaction their order
      // does not matter (both become visible at its commit, or neither), and it saves two of its round trips.
      // Both settle before anything else happens to the transaction, so an abort never overtakes a request.
      const settled = await Promise.allSettled([records(), offsets()]);
      for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
      await transaction.commit();
    } catch (error) {
      const mapped = kafkaError(error, `cannot publish ${run.events} events of ${this.options.connector}`, {
        transactionalId: this.groupId,
      });
      await transaction.abort().catch((abortError: unknown) => {
        this.logger.warn({ error: errorMessage(abortError) }, 'aborting the failed transaction failed too');
      });
      throw mapped;
    }
    this.offsetCounter += 1n;
    for (const schema of run.newSchemas.values()) this.schemas.markRegistered(schema);
    this.counters.eventsPublished += run.events;
    this.counters.eventsSkipped += run.skipped;
    this.counters.eventsOversized += run.diverted.length;
    for (const diverted of run.diverted) {
      this.logger.warn(
        { topic: this.limit.sideTopic, event: diverted.value?.toString() },
        'an event larger than kafka.maxEventBytes went to the side topic instead of the changelog',
      );
    }
    this.counters.schemasRegistered += run.newSchemas.size;
    this.counters.transactions++;
    this.lastPublished = stored.position;
    if (run.commit !== null && commit !== this.lastCommit) {
      this.lastCommit = commit;
      await connector.acknowledge(run.commit);
    }
  }
}

function parseStored(metadata: string, groupId: string): StoredPoint {
  try {
    const parsed = JSON.parse(metadata) as Partial<StoredPoint>;
    const position = typeof parsed.position === 'string' ? parsed.position : null;
    const commit = typeof parsed.commit === 'string' ? parsed.commit : null;
    // Parse now so a corrupt value fails here, naming where it came from.
    if (position !== null) parsePosition(position);
    if (commit !== null) parseCommit(commit);
    const state = typeof parsed.state === 'object' && parsed.state !== null ? parsed.state : null;
    return { position, commit, state };
  } catch (error) {
    throw new CdcError(
      'POSITION_INVALID',
      `the position stored for ${groupId} is unreadable: ${errorMessage(error)}`,
      { group: groupId },
      { cause: error },
    );
  }
}

/** Schemas are looked up by the fingerprint in a single-object header; other bytes (a keyless table's text key) pass. */
function reframe<T extends Buffer | string | null | undefined>(
  bytes: T,
  registry: RegistrySchemas,
  run: CaptureRun,
): T | Buffer {
  if (!Buffer.isBuffer(bytes) || bytes.length < 10 || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return bytes;
  const schema = run.schemaOf(bytes.toString('hex', 2, 10));
  return schema === undefined ? bytes : registry.frame(bytes, schema);
}

function isKeySchema(schema: WriterSchema): boolean {
  return registryForm(schema.json).recordName.endsWith('.Key');
}

function settle<T>(promise: Promise<IteratorResult<T>>): Promise<Next<T>> {
  return promise.then(
    (result) => ({ ok: true, result }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Resolves after one turn of the event loop: what is already on its way (buffered messages, their microtasks) comes first. */
function nextTurn(): Promise<typeof READY> {
  return new Promise((resolve) => setImmediate(resolve, READY));
}
