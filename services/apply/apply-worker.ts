/**
 * The apply worker: takes batches from the feed, assembles source transactions, and applies them through a
 * sink, many per target transaction. The feed commits a batch only after the handler resolved, and the
 * handler resolves only once every event of the batch is applied (or dead-lettered) and committed.
 *
 * When a target transaction fails for a reason a retry cannot fix, it is rolled back and its source
 * transactions are applied one at a time; one that still fails is applied event by event under savepoints,
 * and the failing event goes to the dead-letter sink (or, with `onError: 'stop'`, stops the worker) while the
 * rest of the batch applies. Retriable failures (connection lost) are retried with backoff instead.
 *
 * However slow the target, the worker keeps making visible progress: a target transaction that took longer
 * than `batch.maxMillis` makes the next ones carry fewer events (sized from the time per event just measured,
 * growing back when the target speeds up), and when the feed asks it to yield (its time budget for the batch
 * is spent, or the group is rebalancing) the worker hands the rest of the batch back at a transaction boundary.
 */
import { comparePosition, formatPosition, type EventPosition } from '../../schemas/positions/position.ts';
import { CdcError, errorMessage, isRetriable } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import type { BatchControl, HandlerResult, ConsumedEvent, DeadLetterSink, EventFeed } from './event-feed.ts';
import { DEFAULT_BACKOFF, withRetries, type BackoffPolicy } from '../../common/retry.ts';
import type { ApplyResult, EventFailure, Sink } from './sink.ts';
import { stopsApplying } from './target-errors.ts';
import {
  assembleTransactions,
  chunkTransactions,
  type AssembledTransaction,
} from './transaction-assembler.ts';

export interface ApplyWorkerOptions {
  /** The source connector name: the stream whose applied position the sink stores. */
  readonly stream: string;
  readonly feed: EventFeed;
  readonly sink: Sink;
  readonly deadLetters: DeadLetterSink;
  readonly onError: 'dead-letter' | 'stop';
  readonly logger?: Logger;
  /**
   * Upper bound of events per target transaction (a larger source transaction still applies whole), and the
   * time one target transaction should take at most: slower ones make the next carry fewer events.
   */
  readonly batch?: { readonly maxEvents: number; readonly maxMillis?: number };
  readonly backoff?: BackoffPolicy;
  /**
   * The changelog is keyed (sources[].changelog "keyed"): each partition is a stream of its own, applied in
   * target transactions of its own with its own applied-position row, `<stream>#<partition>` (see
   * `partitionStream`). Several workers of one replica then share the partitions.
   */
  readonly keyed?: boolean;
}

/** The applied-position row of one partition of a keyed changelog. Stream names never hold `#` (config NAME_PATTERN). */
export function partitionStream(stream: string, partition: number): string {
  return `${stream}#${partition}`;
}

export interface ApplyWorkerStatus {
  readonly stream: string;
  readonly state: 'idle' | 'running' | 'stopped' | 'failed';
  readonly appliedPosition: string | null;
  /** Now minus the source commit time of the last applied event. */
  readonly lagMillis: number | null;
  readonly eventsApplied: number;
  readonly eventsSkipped: number;
  readonly transactionsApplied: number;
  /** Failed attempts: target transactions rolled back, retries included. */
  readonly errors: number;
  readonly deadLetters: number;
  readonly lastError: string | null;
}

const DEFAULT_MAX_EVENTS = 5_000;
const DEFAULT_MAX_MILLIS = 2_000;

export class ApplyWorker {
  private readonly options: ApplyWorkerOptions;
  private readonly logger: Logger;
  private state: ApplyWorkerStatus['state'] = 'idle';
  private position: EventPosition | null = null;
  /** The consumer's group-join count this worker last saw (BatchControl.generation). */
  private generation: number | null = null;
  /** Keyed changelog: per partition, the applied position read since the last group join, and since updated. */
  private readonly partitionPositions = new Map<number, EventPosition | null>();
  private commitTimeMicros: bigint | null = null;
  private eventsApplied = 0;
  private eventsSkipped = 0;
  private transactionsApplied = 0;
  private errors = 0;
  private deadLettered = 0;
  private lastError: string | null = null;
  /** Events of the next target transaction: `maxEvents`, or fewer while the target is slow. */
  private runEvents: number;

  constructor(options: ApplyWorkerOptions) {
    this.options = options;
    this.runEvents = options.batch?.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.logger = (options.logger ?? silentLogger).child({
      component: 'apply-worker',
      stream: options.stream,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    // Running (and ready) once the sink is prepared: with conflict handling that is when local deletes of the
    // node's tables start leaving tombstones, which writers on that node rely on.
    this.state = 'idle';
    try {
      await this.retrying('preparing the sink', () => this.options.sink.prepare(), signal);
      // Keyed: each partition's position is read when its first batch arrives (adoptPartitions).
      if (this.options.keyed !== true)
        this.position = await this.retrying(
          'reading the applied position',
          () => this.options.sink.appliedPosition(this.options.stream, { fresh: true }),
          signal,
        );
      this.state = 'running';
      this.logger.info({ position: this.position && formatPosition(this.position) }, 'apply worker started');
      await this.options.feed.run((batch, control) => this.handle(batch, signal, control), signal);
      this.state = 'stopped';
    } catch (error) {
      this.state = signal.aborted ? 'stopped' : 'failed';
      this.lastError = errorMessage(error);
      throw error;
    }
  }

  status(): ApplyWorkerStatus {
    return {
      stream: this.options.stream,
      state: this.state,
      appliedPosition: this.position && formatPosition(this.position),
      lagMillis:
        this.commitTimeMicros === null
          ? null
          : Math.max(0, Date.now() - Number(this.commitTimeMicros / 1000n)),
      eventsApplied: this.eventsApplied,
      eventsSkipped: this.eventsSkipped,
      transactionsApplied: this.transactionsApplied,
      errors: this.errors,
      deadLetters: this.deadLettered,
      lastError: this.lastError,
    };
  }

  private async handle(
    batch: readonly ConsumedEvent[],
    signal: AbortSignal,
    control: BatchControl | undefined,
  ): Promise<HandlerResult> {
    const partition = batch[0]?.partition ?? 0;
    const positionKey = this.options.keyed === true ? partitionStream(this.options.stream, partition) : null;
    await this.adoptPartitions(control, signal, positionKey === null ? null : partition);
    let units = assembleTransactions(batch);
    // A source transaction whose last events have not arrived yet is delivered again with the next batch, so
    // the replica never shows it half applied. Only one larger than a whole fetch (it starts the last slice of
    // a fetch and still is not complete) is applied in pieces, each piece stored with its exact event position.
    const tail = units.at(-1);
    let redeliverFrom: number | null = null;
    if (tail !== undefined && !tail.transaction.complete && (units.length > 1 || control?.more === true)) {
      redeliverFrom = batch.length - tail.consumed.length;
      units = units.slice(0, -1);
    }
    let done = 0;
    while (done < units.length) {
      if (signal.aborted)
        throw new CdcError(
          'STOPPED',
          `apply worker of ${this.options.stream} stopped before the batch was applied`,
        );
      // Only after some progress: a batch handed back whole would come back to the same yield.
      if (done > 0 && control?.shouldYield()) {
        const next = units[done]!.consumed[0]!;
        return { redeliverFrom: batch.indexOf(next) };
      }
      // Chunked again each round, as the run size follows the target's speed.
      const chunk = chunkTransactions(units.slice(done), this.runEvents)[0]!;
      const started = performance.now();
      await this.applyChunk(chunk, signal, partition);
      this.adaptRunSize(chunk, performance.now() - started);
      done += chunk.length;
    }
    return redeliverFrom === null ? undefined : { redeliverFrom };
  }

  /**
   * After a group join this worker owns its partitions anew, from the offsets the group committed; another
   * member may have applied the stream meanwhile, so the applied position is read from the replica again.
   * Without a join, a replica position ahead of this worker's means it is a stale member that lost its
   * partitions without noticing, and the sink stops it (APPLY_STALE_WORKER) before it writes anything.
   */
  private async adoptPartitions(
    control: BatchControl | undefined,
    signal: AbortSignal,
    keyedPartition: number | null,
  ): Promise<void> {
    const generation = control?.generation;
    if (keyedPartition !== null) {
      // Keyed: the same, partition by partition, each with its own row; fencing (APPLY_STALE_WORKER) then holds
      // per partition, since the sink compares each row with what it last wrote or read of that row.
      if (generation !== undefined && generation !== this.generation) {
        this.partitionPositions.clear();
        this.generation = generation;
      }
      if (this.partitionPositions.has(keyedPartition)) return;
      const key = partitionStream(this.options.stream, keyedPartition);
      const position = await this.retrying(
        'reading the applied position of a partition',
        () => this.options.sink.appliedPosition(key, { fresh: true }),
        signal,
      );
      this.partitionPositions.set(keyedPartition, position);
      this.logger.debug(
        { partition: keyedPartition, position: position && formatPosition(position), generation },
        'partition assigned; its applied position read from the replica',
      );
      return;
    }
    if (generation === undefined || generation === this.generation) return;
    this.position = await this.retrying(
      'reading the applied position after a group join',
      () => this.options.sink.appliedPosition(this.options.stream, { fresh: true }),
      signal,
    );
    this.logger.debug(
      { position: this.position && formatPosition(this.position), generation },
      'partitions assigned; applied position read from the replica',
    );
    this.generation = generation;
  }

  /**
   * Sizes the next target transaction so it takes about `maxMillis` at the speed just measured, never more
   * than `maxEvents` and at most twice the last size (one quick run is no proof the target recovered).
   */
  private adaptRunSize(chunk: readonly AssembledTransaction[], millis: number): void {
    const maxEvents = this.options.batch?.maxEvents ?? DEFAULT_MAX_EVENTS;
    const maxMillis = this.options.batch?.maxMillis ?? DEFAULT_MAX_MILLIS;
    const events = chunk.reduce((sum, unit) => sum + unit.transaction.events.length, 0);
    const fitting = millis > 0 ? Math.floor((events * maxMillis) / millis) : maxEvents;
    const next = Math.max(1, Math.min(maxEvents, fitting, this.runEvents * 2));
    if (next < this.runEvents && millis > maxMillis)
      this.logger.debug(
        { events, millis: Math.round(millis), nextEvents: next },
        'target transaction took longer than batch.maxMillis; the next ones carry fewer events',
      );
    this.runEvents = next;
  }

  private async applyChunk(
    chunk: readonly AssembledTransaction[],
    signal: AbortSignal,
    partition: number,
  ): Promise<void> {
    try {
      await this.applyWhole(chunk, signal, partition);
      return;
    } catch (error) {
      // A stale worker or a missing privilege: isolating events one by one would only repeat the refusal.
      if (isRetriable(error) || signal.aborted || stopsApplying(error)) throw error;
      this.noteError(
        error,
        chunk.length > 1
          ? 'target transaction failed; applying its source transactions one at a time'
          : 'source transaction failed; isolating the failing event',
      );
    }
    for (const unit of chunk) {
      if (chunk.length > 1) {
        try {
          await this.applyWhole([unit], signal, partition);
          continue;
        } catch (error) {
          if (isRetriable(error) || signal.aborted) throw error;
          this.noteError(error, 'source transaction failed; isolating the failing event');
        }
      }
      await this.applyIsolated(unit, signal, partition);
    }
  }

  /** The sink's row for this partition (keyed), or the stream's own (ordered: the sink's default). */
  private applyOptions(partition: number): { readonly positionKey?: string; readonly partition?: number } {
    return this.options.keyed === true
      ? { positionKey: partitionStream(this.options.stream, partition), partition }
      : {};
  }

  /** What the last applied event of this partition (keyed) or of the stream was. */
  private appliedBefore(partition: number): EventPosition | null {
    return this.options.keyed === true ? (this.partitionPositions.get(partition) ?? null) : this.position;
  }

  private async applyWhole(
    units: readonly AssembledTransaction[],
    signal: AbortSignal,
    partition: number,
  ): Promise<void> {
    const before = this.appliedBefore(partition);
    const result = await this.retrying(
      'applying a batch',
      () =>
        this.options.sink.apply(
          this.options.stream,
          units.map((u) => u.transaction),
          this.applyOptions(partition),
        ),
      signal,
    );
    this.record(result, units, before, partition);
  }

  private async applyIsolated(
    unit: AssembledTransaction,
    signal: AbortSignal,
    partition: number,
  ): Promise<void> {
    const before = this.appliedBefore(partition);
    const onEventFailure = async (failure: EventFailure): Promise<void> => {
      const consumed = unit.consumed[failure.eventIndex];
      if (!consumed)
        throw new CdcError(
          'INTERNAL',
          `sink reported a failure for event ${failure.eventIndex} of a ${unit.consumed.length}-event transaction`,
        );
      const position = formatPosition(failure.event.source.position);
      const table = `${failure.event.table.schema}.${failure.event.table.table}`;
      if (this.options.onError === 'stop') {
        throw new CdcError(
          'APPLY_FAILED',
          `apply stopped: the ${failure.event.op} event at ${position} on table ${table} cannot be applied: ${failure.error.message}`,
          { position, table },
          { cause: failure.error },
        );
      }
      await this.options.deadLetters.publish(consumed, failure.error.message, failure.error);
      this.deadLettered++;
      this.logger.warn({ position, table, err: failure.error }, 'event sent to the dead-letter sink');
    };
    const result = await this.retrying(
      'applying a transaction event by event',
      () =>
        this.options.sink.apply(this.options.stream, [unit.transaction], {
          ...this.applyOptions(partition),
          onEventFailure,
        }),
      signal,
    );
    this.record(result, [unit], before, partition);
  }

  private record(
    result: ApplyResult,
    units: readonly AssembledTransaction[],
    before: EventPosition | null,
    partition: number,
  ): void {
    this.eventsApplied += result.applied;
    this.eventsSkipped += result.skipped;
    for (const unit of units) {
      const last = unit.transaction.events.at(-1);
      if (
        unit.transaction.complete &&
        last &&
        (before === null || comparePosition(last.source.position, before) > 0)
      )
        this.transactionsApplied++;
    }
    // Keyed: the status shows the last position this worker applied, in whichever partition.
    if (result.position) this.position = result.position;
    if (result.position && this.options.keyed === true)
      this.partitionPositions.set(partition, result.position);
    if (result.commitTimeMicros !== null) this.commitTimeMicros = result.commitTimeMicros;
  }

  private noteError(error: unknown, message: string): void {
    this.errors++;
    this.lastError = errorMessage(error);
    this.logger.warn({ err: error }, message);
  }

  private retrying<T>(what: string, operation: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return withRetries(what, operation, {
      signal,
      logger: this.logger,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      onRetry: (error) => {
        this.errors++;
        this.lastError = errorMessage(error);
      },
    });
  }
}
