/**
 * The apply side: reads changelog topics as a consumer group and hands decoded events to a handler, batch by
 * batch. Offsets are committed only after the handler resolved, so a crash or a failing handler redelivers a
 * batch and never skips one. Only committed Kafka transactions are read (read_committed), so events of a
 * capture transaction that was aborted by a crash are never seen. Partitions are processed one batch at a time,
 * each in offset order; the next batch is fetched (and its first slice decoded) while the handler works on one
 * (fetch-ahead.ts). A batch reaches the handler in slices of about SLICE_BYTES of records, so only a slice of a
 * fetch is held decoded at a time; the handler keeps a source transaction a slice cut for the next slice.
 *
 * The group membership holds however long the handler works: kafkajs heartbeats only between batches or when
 * asked, so a timer heartbeats while the handler runs (a target transaction slower than the session timeout
 * otherwise lost the membership and could never commit). The handler is asked to yield once a batch has run
 * for a session timeout, or at once when the group rebalances; the done part is committed and the rest
 * fetched again. A membership that is lost all the same (the coordinator forgot this member, or moved to a new
 * generation) is left to kafkajs, which rejoins and fetches from the committed offsets; the sink skips what the
 * target already holds by its stored position. Records deleted before the group read them (retention) stop the
 * run with CHANGELOG_GAP rather than being passed over (offset-reset-guard.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, groupMembershipError, kafkaError } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { createConsumer } from './closable-consumer.ts';
import { SchemaStore } from './schema-store.ts';
import { decodeKnown, decodeMessage, type ConsumedEvent } from './record-decoding.ts';
import { guardOffsetResets } from './offset-reset-guard.ts';
import { FetchAhead } from './fetch-ahead.ts';
import type { WriterSchema } from '../../schemas/avro/writer-schema.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { Backoff } from '../../common/retry.ts';

/** Re-reads of the schema topic while a mirror has not copied a schema yet. */
const SCHEMA_WAIT_BACKOFF = { initialMs: 100, maxMs: 2_000 };
/**
 * Most bytes of one partition in one fetch. A source transaction larger than this is applied in pieces
 * (services/apply/transaction-assembler.ts): it never arrives whole in one fetch.
 */
export const FETCH_BYTES_PER_PARTITION = 8 * 1024 * 1024;
/**
 * Record bytes of a fetch handed to the handler at a time. Decoded events take about ten times their record's
 * size in JS objects, so a whole fetch decoded was the largest part of an apply worker's heap; a slice bounds it
 * without making transactions applied atomically any smaller (the handler keeps an incomplete one for the next
 * slice, BatchControl.more).
 */
const SLICE_BYTES = 1024 * 1024;

export type { ConsumedEvent } from './record-decoding.ts';

export interface ConsumerOptions extends KafkaCluster {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Topic prefix of the deployment: where the schema topic is. */
  readonly prefix: string;
  readonly clientId?: string;
  readonly logger?: Logger;
  /** Where a group without committed offsets starts (default: the beginning). */
  readonly fromBeginning?: boolean;
  /** Group session timeout (default 30 s): how long a dead member keeps its partitions. */
  readonly sessionTimeoutMs?: number;
  /**
   * How long a record whose schema is not in the schema topic waits for it before it counts as SCHEMA_UNKNOWN
   * (default 0). A local changelog's schemas are committed with or before its events, so a missing one never
   * comes; a mirror (MirrorMaker 2) copies the schema topic and the changelog independently, so an event can
   * arrive before its schema does.
   */
  readonly schemaGraceMs?: number;
  /**
   * Where records that cannot be decoded go, so they block nothing else. Without it, such a record stops the
   * run (it rejects with the DECODE_FAILED or SCHEMA_UNKNOWN error, nothing after it is committed).
   */
  readonly onUndecodable?: UndecodableHandler;
}

/**
 * What a handler made durable: everything (void), or everything before `redeliverFrom`. The feed then
 * commits only that prefix and delivers the rest again at the head of a later batch; a handler uses it to
 * keep a source transaction whose last events have not arrived yet out of the target.
 */
export type HandlerResult = void | { readonly redeliverFrom: number };

/** Asked by the handler between target transactions: true when it should hand the rest of the batch back. */
export interface BatchControl {
  shouldYield(): boolean;
  /** Counts this consumer's group joins (see the apply layer's BatchControl). */
  readonly generation?: number;
  /** More events of the same fetch follow this slice (see the apply layer's BatchControl). */
  readonly more?: boolean;
}

export type BatchHandler = (
  batch: readonly ConsumedEvent[],
  control?: BatchControl,
) => Promise<HandlerResult>;

/** A record that holds no decodable change event, as it was in Kafka. */
export interface UndecodableRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

/**
 * Sets an undecodable record aside (the dead-letter topic, for example). `error` has code DECODE_FAILED
 * (corrupt bytes, no value) or SCHEMA_UNKNOWN (its schema is not in the schema topic, read up to its end). The
 * record's offset is committed with its batch once this resolved; if it rejects, the run stops.
 */
export type UndecodableHandler = (record: UndecodableRecord, error: CdcError) => Promise<void>;

/** kafkajs's defaults, used when no session timeout is configured. */
const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;

export class ChangeConsumer {
  private readonly options: ConsumerOptions;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  /** How long a handler may work on one batch before it is asked to yield, so offsets are committed. */
  private readonly batchBudgetMs: number;
  /** Group joins so far; handed to the handler with each batch (BatchControl.generation). */
  private generation = 0;
  private readonly heartbeatIntervalMs: number;
  /** Per `topic/partition`, the next offset to read: what was committed, or passed over without a commit. */
  private readonly consumedOffsets = new Map<string, bigint>();

  constructor(options: ConsumerOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'consumer', group: options.groupId });
    this.kafka = createKafka({
      ...clusterOf(options),
      clientId: options.clientId ?? options.groupId,
      logger: this.logger,
    });
    this.batchBudgetMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    // Heartbeats well inside the session, as the broker expects (a third of it at most).
    this.heartbeatIntervalMs =
      options.sessionTimeoutMs === undefined
        ? DEFAULT_HEARTBEAT_INTERVAL_MS
        : Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(options.sessionTimeoutMs / 3));
  }

  /**
   * The next offset this consumer will read in a partition, if it read there: what it
   * committed last, or the end of a fetch of only transaction markers or aborted records, which kafkajs passes
   * over without a handler call and which needs no commit. Backlog sampling counts it as consumed.
   */
  consumedOffset(topic: string, partition: number): bigint | undefined {
    return this.consumedOffsets.get(`${topic}/${partition}`);
  }

  /**
   * Consumes until `signal` aborts (resolves after the batch in progress finished and committed) or the handler,
   * decoding or Kafka fail (rejects; nothing after the last handled batch is committed).
   */
  async run(handler: BatchHandler, signal: AbortSignal): Promise<void> {
    // Stopped before it began (the worker was still preparing): joining the group now would only hold the stop up.
    if (signal.aborted) return;
    const schemas = new SchemaStore({
      ...clusterOf(this.options),
      prefix: this.options.prefix,
      logger: this.logger,
    });
    const releaseGuard = guardOffsetResets(this.options.groupId);
    const ahead = new FetchAhead();
    const closable = createConsumer(
      this.kafka,
      {
        groupId: this.options.groupId,
        readUncommitted: false,
        // Larger fetches than kafkajs's 1 MiB per partition: fewer, larger batches for the handler, one offset
        // commit per batch instead of per 1 MiB, and source transactions up to this size applied whole. Not
        // larger: a fetch is decoded whole (about ten times its size in JS objects) and the next one is held
        // meanwhile, which keeps an apply worker near 280 MB (ARCHITECTURE.md, "What a process holds in memory").
        maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
        maxBytes: 2 * FETCH_BYTES_PER_PARTITION,
        heartbeatInterval: this.heartbeatIntervalMs,
        ...(this.options.sessionTimeoutMs !== undefined
          ? { sessionTimeout: this.options.sessionTimeoutMs }
          : {}),
      },
      { logger: this.logger },
    );
    const consumer = closable.consumer;
    let failure: Error | null = null;
    let wake: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const fail = (error: unknown): void => {
      failure ??=
        error instanceof Error
          ? error
          : new CdcError('INTERNAL', `a batch handler threw a non-error: ${String(error)}`);
      wake();
    };
    const onAbort = (): void => wake();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await consumer.connect();
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.generation++;
        ahead.joined();
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize !== 0) return;
        const { topic, partition } = payload;
        ahead.passedOver(`${topic}/${partition}`, String(payload.lastOffset));
        // Only aborted records or markers after a tail kept back (fetch-ahead.ts): no batch may come to carry
        // it, so kafkajs reads it again. It is not consumed yet either.
        // While a batch is applied, counted once its commit is done (handleBatch).
        const tail = ahead.dropTail(`${topic}/${partition}`);
        if (tail !== null) consumer.seek({ topic, partition, offset: tail });
        else if (!ahead.applying) this.consumed(topic, partition, BigInt(payload.lastOffset) + 1n);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart)
          fail(kafkaError(payload.error, `consumer group ${this.options.groupId} stopped`));
      });
      await consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning ?? true,
      });
      // consumer.run resolves once the group is joined, which takes as long as the coordinator waits for the
      // members of a previous process (up to their session timeout): a stop or a failure does not wait for it.
      const joining = consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async (payload) => {
            // Its first slice is decoded while the batch before is still applied (its statements wait on the
            // target meanwhile).
            const { topic, partition, messages } = payload.batch;
            const lookup = (id: string): WriterSchema | undefined => schemas.cached(id);
            const decoded = decodeSliceAhead(messages, (message) =>
              decodeKnown(topic, partition, message, lookup),
            );
            // The batch before this one was applied while this one was fetched: it is handled (and committed)
            // first, so batches stay one at a time and in offset order.
            await ahead.settled();
            // kafkajs's runner rejoins the group when it sees one of these; nothing after the last commit is
            // lost, it is fetched again.
            const membership = ahead.takeMembershipError();
            if (membership !== null) throw membership;
            // After a failure or an abort, leave everything unresolved: it is redelivered to the next run.
            if (failure !== null || signal.aborted || !payload.isRunning() || payload.isStale()) return;
            const generation = this.generation;
            const work = this.handleBatch(payload, decoded, schemas, handler, consumer, ahead).catch(
              (error: unknown) => {
                const lost = groupMembershipError(error);
                if (lost === null) return fail(error);
                this.logger.warn(
                  { error: errorMessage(lost) },
                  'the group rebalances or forgot this member; rejoining',
                );
                // Unless kafkajs has rejoined meanwhile on its own.
                if (generation === this.generation) ahead.lostMembership(lost);
              },
            );
            ahead.start(work);
            // Resolved in kafkajs's memory only (nothing is committed before the handler is done): kafkajs
            // fetches the next batch while this one is applied.
            payload.resolveOffset(payload.batch.lastOffset());
          },
        })
        .catch((error: unknown) => {
          fail(
            kafkaError(error, `cannot consume ${this.options.topics.join(', ')}`, {
              group: this.options.groupId,
            }),
          );
        });
      await Promise.race([joining, stopped]);
      if (!signal.aborted) await stopped;
    } catch (error) {
      failure ??= kafkaError(error, `cannot consume ${this.options.topics.join(', ')}`, {
        group: this.options.groupId,
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
      // The batch applied in the background finishes (and commits) before the consumer goes.
      await ahead.settled();
      await closable.close();
      releaseGuard();
      // Only after the consumer, which waits for the batch in hand: a schema lookup of that batch starting after
      // the store closed would start a schema topic reader that nobody closes, and its sockets keep the process.
      await schemas.close().catch((error: unknown) => {
        this.logger.warn({ error: errorMessage(error) }, 'closing the schema store failed');
      });
    }
    if (failure !== null) throw failure;
  }

  private async handleBatch(
    payload: EachBatchPayload,
    /** Each message decoded with the schemas already known, or null (decoded again here, waiting if need be). */
    known: readonly (ConsumedEvent | null)[],
    schemas: SchemaStore,
    handler: BatchHandler,
    consumer: Consumer,
    ahead: FetchAhead,
  ): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const onUndecodable = this.options.onUndecodable;
    const lookup = (id: string): WriterSchema | undefined => schemas.cached(id);
    const key = `${batch.topic}/${batch.partition}`;
    const generation = this.generation;
    // What the last batch of this partition handed back comes first; its first offset is where this batch starts.
    let pending: ConsumedEvent[] = ahead.takeTail(key, generation, batch.firstOffset() ?? '0');
    const firstOffset = pending[0]?.offset ?? batch.firstOffset();
    let decodedAll = true;
    // Offset of the first record to deliver again, when the handler kept a tail back.
    let redeliverAt: string | null = null;
    const started = Date.now();
    let rebalancing = false;
    // kafkajs's runner heartbeats too (after a fetch came back empty) and rejoins on its own when that one hears
    // of the rebalance first: a new generation since the batch began asks for the yield as well.
    const shouldYield = (): boolean =>
      rebalancing || this.generation !== generation || Date.now() - started >= this.batchBudgetMs;
    const handle = async (more: boolean): Promise<void> => {
      const result = await this.heartbeating(
        payload,
        () => handler(pending, { shouldYield, generation, more }),
        () => {
          rebalancing = true;
        },
      );
      if (result !== undefined && result.redeliverFrom < pending.length) {
        // A transaction not complete at the end of a slice goes on with the next slice of this fetch; one
        // handed back on a yield, or at the end of the fetch, is delivered again from Kafka (below).
        if (more && !shouldYield()) {
          pending = pending.slice(result.redeliverFrom);
          return;
        }
        redeliverAt = pending[result.redeliverFrom]?.offset ?? null;
        tail = pending.slice(result.redeliverFrom);
      }
      pending = [];
    };
    let tail: ConsumedEvent[] = [];
    // Bytes of the records decoded since the handler was last called: a fetch is handed over in slices of
    // about SLICE_BYTES, so only a slice of it is held decoded (ten times its size in JS objects) at a time.
    let sliceBytes = 0;
    const lastIndex = batch.messages.length - 1;
    for (const [index, message] of batch.messages.entries()) {
      const decoded =
        known[index] ??
        decodeKnown(batch.topic, batch.partition, message, lookup) ??
        (await this.decodeWaiting(payload, message, schemas, lookup));
      if (!(decoded instanceof CdcError)) {
        pending.push(decoded);
        sliceBytes += recordBytes(message);
        if (sliceBytes >= SLICE_BYTES && index < lastIndex) {
          sliceBytes = 0;
          await handle(true);
          if (redeliverAt !== null) {
            decodedAll = false;
            break;
          }
        }
        continue;
      }
      if (onUndecodable === undefined) throw decoded;
      // Side effects stay in offset order: what came before the bad record is handled first.
      if (pending.length > 0) await handle(false);
      if (redeliverAt !== null) {
        decodedAll = false;
        break;
      }
      const raw = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      await onUndecodable({ ...raw, key: message.key, value: message.value }, decoded);
    }
    if (pending.length > 0 && redeliverAt === null) await handle(false);
    if (redeliverAt !== null) {
      const next: string = redeliverAt;
      if (BigInt(next) > BigInt(firstOffset ?? next))
        await this.commit(consumer, batch.topic, batch.partition, next);
      // The next fetch is already past the tail. Decoded whole and with records behind it in the partition, it
      // waits here for the partition's next batch; otherwise kafkajs is sent back to read it again.
      if (decodedAll && ahead.hasMore(key, batch.lastOffset(), batch.highWatermark))
        ahead.keepTail(key, generation, tail);
      else consumer.seek({ topic: batch.topic, partition: batch.partition, offset: next });
      await payload.heartbeat();
      return;
    }
    // lastOffset() also covers the transaction markers and aborted records after the last delivered message.
    const last = batch.lastOffset();
    await this.commit(consumer, batch.topic, batch.partition, (BigInt(last) + 1n).toString());
    // Aborted records or markers kafkajs passed over while this batch was applied are consumed now too.
    const passed = ahead.passedUpTo(key);
    if (passed !== undefined) this.consumed(batch.topic, batch.partition, passed + 1n);
    await payload.heartbeat();
  }

  /** decodeMessage, waiting up to `schemaGraceMs` (heartbeating meanwhile) for a schema the topic lacks yet. */
  private async decodeWaiting(
    payload: EachBatchPayload,
    message: KafkaMessage,
    schemas: SchemaStore,
    lookup: (id: string) => WriterSchema | undefined,
  ): Promise<ConsumedEvent | CdcError> {
    const { topic, partition } = payload.batch;
    const deadline = Date.now() + (this.options.schemaGraceMs ?? 0);
    const backoff = new Backoff(SCHEMA_WAIT_BACKOFF);
    for (;;) {
      const decoded = await decodeMessage(topic, partition, message, schemas, lookup);
      if (!(decoded instanceof CdcError) || decoded.code !== 'SCHEMA_UNKNOWN' || Date.now() >= deadline)
        return decoded;
      if (backoff.attempts === 0)
        this.logger.info(
          { topic, partition, offset: message.offset, graceMs: this.options.schemaGraceMs },
          'the schema of a record is not in the schema topic yet: waiting for the mirror to copy it',
        );
      await payload.heartbeat();
      await delay(Math.min(backoff.next(), Math.max(0, deadline - Date.now())));
    }
  }

  /**
   * Runs `work` while a timer heartbeats. kafkajs sends a heartbeat only when the interval has passed since the
   * last one, so ticking at half the interval keeps the gaps near it. A heartbeat refused because the group
   * rebalances (or forgot this member) calls `onRebalance`; the work goes on to its next transaction boundary.
   */
  private async heartbeating<T>(
    payload: EachBatchPayload,
    work: () => Promise<T>,
    onRebalance: () => void,
  ): Promise<T> {
    const beat = (): void => {
      payload.heartbeat().catch((error: unknown) => {
        if (groupMembershipError(error) !== null) onRebalance();
        else this.logger.debug({ error: errorMessage(error) }, 'heartbeat during a batch failed');
      });
    };
    const timer = setInterval(beat, Math.max(100, Math.floor(this.heartbeatIntervalMs / 2)));
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async commit(consumer: Consumer, topic: string, partition: number, offset: string): Promise<void> {
    try {
      await consumer.commitOffsets([{ topic, partition, offset }]);
      this.consumed(topic, partition, BigInt(offset));
    } catch (error) {
      throw kafkaError(error, `cannot commit offsets of ${topic}/${partition}`, {
        group: this.options.groupId,
      });
    }
  }

  private consumed(topic: string, partition: number, next: bigint): void {
    const key = `${topic}/${partition}`;
    if (next > (this.consumedOffsets.get(key) ?? -1n)) this.consumedOffsets.set(key, next);
  }
}

/** What a record takes in a fetch, near enough to bound a slice: its key and value. */
function recordBytes(message: KafkaMessage): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0);
}

/** The records of a fetch's first slice decoded, the rest left to handleBatch (null: not decoded yet). */
function decodeSliceAhead(
  messages: readonly KafkaMessage[],
  decode: (message: KafkaMessage) => ConsumedEvent | null,
): (ConsumedEvent | null)[] {
  const decoded: (ConsumedEvent | null)[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (bytes >= SLICE_BYTES) break;
    decoded.push(decode(message));
    bytes += recordBytes(message);
  }
  return decoded;
}
