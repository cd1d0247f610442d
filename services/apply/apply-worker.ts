/**
 * The apply worker: takes batches from the feed, assembles source transactions, and applies them through a
 * sink, many per target transaction. The feed commits a batch only after the handler resolved, and the
 * handler resolves only once every event of the batch is applied (or dead-lettered) and committed.
 *
 * When a target transaction fails for a reason a retry cannot fix, it is rolled back and its source
 * transactions are applied one at a time; one that still fails is applied event by event under savepoints,
 * and the failing event goes to the dead-letter sink (or, with `onError: 'stop'`, stops the worker) while the
 * rest of the batch applies. Retriable failures (connection lost) are retried with backoff instead.
 */
import { comparePosition, formatPosition, type EventPosition } from '../../schemas/positions/position.ts';
import { CdcError, errorMessage, isRetriable } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import type { HandlerResult, ConsumedEvent, DeadLetterSink, EventFeed } from './event-feed.ts';
import { DEFAULT_BACKOFF, withRetries, type BackoffPolicy } from '../../common/retry.ts';
import type { ApplyResult, EventFailure, Sink } from './sink.ts';
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
  /** Upper bound of events per target transaction (a larger source transaction still applies whole). */
  readonly batch?: { readonly maxEvents: number };
  readonly backoff?: BackoffPolicy;
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

export class ApplyWorker {
  private readonly options: ApplyWorkerOptions;
  private readonly logger: Logger;
  private state: ApplyWorkerStatus['state'] = 'idle';
  private position: EventPosition | null = null;
  private commitTimeMicros: bigint | null = null;
  private eventsApplied = 0;
  private eventsSkipped = 0;
  private transactionsApplied = 0;
  private errors = 0;
  private deadLettered = 0;
  private lastError: string | null = null;

  constructor(options: ApplyWorkerOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger).child({
      component: 'apply-worker',
      stream: options.stream,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.state = 'running';
    try {
      await this.retrying('preparing the sink', () => this.options.sink.prepare(), signal);
      this.position = await this.retrying(
        'reading the applied position',
        () => this.options.sink.appliedPosition(this.options.stream),
        signal,
      );
      this.logger.info({ position: this.position && formatPosition(this.position) }, 'apply worker started');
      await this.options.feed.run((batch) => this.handle(batch, signal), signal);
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

  private async handle(batch: readonly ConsumedEvent[], signal: AbortSignal): Promise<HandlerResult> {
    const maxEvents = this.options.batch?.maxEvents ?? DEFAULT_MAX_EVENTS;
    let units = assembleTransactions(batch);
    // A source transaction whose last events have not arrived yet is delivered again with the next batch, so
    // the replica never shows it half applied. Only one larger than a whole fetch (it starts the batch and
    // still is not complete) is applied in pieces, each piece stored with its exact event position.
    const tail = units.at(-1);
    let redeliverFrom: number | null = null;
    if (tail !== undefined && !tail.transaction.complete && units.length > 1) {
      redeliverFrom = batch.length - tail.consumed.length;
      units = units.slice(0, -1);
    }
    for (const chunk of chunkTransactions(units, maxEvents)) {
      if (signal.aborted)
        throw new CdcError(
          'STOPPED',
          `apply worker of ${this.options.stream} stopped before the batch was applied`,
        );
      await this.applyChunk(chunk, signal);
    }
    return redeliverFrom === null ? undefined : { redeliverFrom };
  }

  private async applyChunk(chunk: readonly AssembledTransaction[], signal: AbortSignal): Promise<void> {
    try {
      await this.applyWhole(chunk, signal);
      return;
    } catch (error) {
      if (isRetriable(error) || signal.aborted) throw error;
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
          await this.applyWhole([unit], signal);
          continue;
        } catch (error) {
          if (isRetriable(error) || signal.aborted) throw error;
          this.noteError(error, 'source transaction failed; isolating the failing event');
        }
      }
      await this.applyIsolated(unit, signal);
    }
  }

  private async applyWhole(units: readonly AssembledTransaction[], signal: AbortSignal): Promise<void> {
    const before = this.position;
    const result = await this.retrying(
      'applying a batch',
      () =>
        this.options.sink.apply(
          this.options.stream,
          units.map((u) => u.transaction),
        ),
      signal,
    );
    this.record(result, units, before);
  }

  private async applyIsolated(unit: AssembledTransaction, signal: AbortSignal): Promise<void> {
    const before = this.position;
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
      () => this.options.sink.apply(this.options.stream, [unit.transaction], { onEventFailure }),
      signal,
    );
    this.record(result, [unit], before);
  }

  private record(
    result: ApplyResult,
    units: readonly AssembledTransaction[],
    before: EventPosition | null,
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
    if (result.position) this.position = result.position;
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
