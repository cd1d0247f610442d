/**
 * Dead-letter replay: the dead letters of one replica go through its sink again, in their original order,
 * each exactly once.
 *
 * Replayed events lie before the stream's applied position, which the sink uses to skip redeliveries, so they
 * are applied under a position key of their own (`<source>.dlq-replay`, ApplyOptions.positionKey): the sink
 * stores the last replayed event's position in the same target transaction as its row change, and skips a
 * dead letter at or before it. The stream's own applied position never moves. A dead letter written twice (the
 * worker crashed after dead-lettering and before its target commit, so the event failed again when
 * redelivered) is at the same position as the first copy and is skipped as well.
 *
 * After each target commit, the offset of the next dead letter is committed as the replay group's offset: a
 * replay starts reading there, and what it reads again after a crash between the two commits (or after Kafka
 * expired the offsets of the idle group) is skipped by position. A dead letter that still fails stops the replay before it (the error names it); running replay
 * again after fixing the cause goes on from there.
 */
import { decodeEvent, schemaIdOf } from '../../schemas/avro/codec.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { tableId } from '../../schemas/events/table-schema.ts';
import { formatPosition } from '../../schemas/positions/position.ts';
import { CdcError, errorMessage, isRetriable } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { DEFAULT_BACKOFF, withRetries } from '../../common/retry.ts';
import type { ApplyResult, Sink } from '../apply/sink.ts';
import type { DeadLetterRecord, DeadLetterTopic } from '../kafka/dlq-reader.ts';
import type { SchemaStore } from '../kafka/schema-store.ts';

export interface ReplayProgress {
  readonly replica: string;
  readonly state: 'running' | 'done' | 'failed';
  /** Offsets of the dead-letter topic this replay covers: [from, until). */
  readonly from: string;
  readonly until: string;
  /** The offset of the next dead letter to replay. */
  readonly next: string;
  /** Dead letters applied to the replica by this replay. */
  readonly replayed: number;
  /** Dead letters found already replayed (by an earlier, interrupted replay) or written twice. */
  readonly alreadyReplayed: number;
  /** Dead letters of other replicas of the same source, passed over. */
  readonly otherReplicas: number;
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface ReplayOptions {
  readonly replica: string;
  /** The source connector: the stream the replica applies, and the base of the replay's position key. */
  readonly source: string;
  readonly topic: DeadLetterTopic;
  readonly schemas: SchemaStore;
  readonly sink: Sink;
  readonly signal: AbortSignal;
  readonly logger?: Logger;
  /** Called after every target commit, and once at the end. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** Dead letters per target transaction (default 500). */
  readonly maxEvents?: number;
}

export function replayPositionKey(source: string): string {
  return `${source}.dlq-replay`;
}

interface Pending {
  readonly record: DeadLetterRecord;
  readonly event: ChangeEvent;
}

/** Replays every dead letter of the replica written before the call; resolves with the final progress. */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayProgress> {
  const logger = (options.logger ?? silentLogger).child({
    component: 'dlq-replay',
    replica: options.replica,
  });
  const { topic, replica } = options;
  const range = await topic.range();
  const committed = await topic.replayOffset(replica);
  const from = committed > range.low ? committed : range.low;
  let progress: ReplayProgress = {
    replica,
    state: 'running',
    from: from.toString(),
    until: range.high.toString(),
    next: from.toString(),
    replayed: 0,
    alreadyReplayed: 0,
    otherReplicas: 0,
    error: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
  };
  const update = (change: Partial<ReplayProgress>): void => {
    progress = { ...progress, ...change };
    options.onProgress?.(progress);
  };
  options.onProgress?.(progress);
  logger.info({ from: progress.from, until: progress.until }, 'dead-letter replay started');
  const maxEvents = options.maxEvents ?? 500;
  let commit: (next: bigint) => Promise<void> = () => Promise.resolve();
  try {
    await topic.replay(
      replica,
      from,
      range.high,
      async (records, commitOffset) => {
        commit = commitOffset;
        let pending: Pending[] = [];
        for (const record of records) {
          if (record.replica !== null && record.replica !== replica) {
            update({ otherReplicas: progress.otherReplicas + 1 });
            continue;
          }
          let event: ChangeEvent;
          try {
            event = await decode(record, options.schemas);
          } catch (error) {
            // What comes before it is replayed first: the replay stops right before the culprit.
            await applyInOrder(pending);
            throw error;
          }
          pending.push({ record, event });
          if (pending.length >= maxEvents) {
            await applyInOrder(pending);
            pending = [];
          }
        }
        if (pending.length > 0) await applyInOrder(pending);
        const last = records.at(-1);
        if (last !== undefined) await commitNext(last.offset + 1n);
      },
      options.signal,
    );
    update({ state: 'done', finishedAt: new Date().toISOString() });
    logger.info(
      { replayed: progress.replayed, alreadyReplayed: progress.alreadyReplayed },
      'dead-letter replay done',
    );
  } catch (error) {
    update({ state: 'failed', error: errorMessage(error), finishedAt: new Date().toISOString() });
    logger.warn({ err: error, next: progress.next }, 'dead-letter replay stopped');
    throw error;
  }
  return progress;

  /** Applies dead letters in one target transaction; when that fails for good, one by one up to the culprit. */
  async function applyInOrder(items: readonly Pending[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await applyAndCommit(items);
      return;
    } catch (error) {
      if (items.length === 1 || isRetriable(error) || options.signal.aborted)
        throw replayFailure(error, items[0]!);
    }
    for (const item of items) {
      try {
        await applyAndCommit([item]);
      } catch (error) {
        throw replayFailure(error, item);
      }
    }
  }

  async function applyAndCommit(items: readonly Pending[]): Promise<void> {
    if (options.signal.aborted)
      throw new CdcError('STOPPED', `replay of ${replica} stopped at dead letter ${progress.next}`, {});
    const result: ApplyResult = await withRetries(
      'replaying dead letters',
      () =>
        options.sink.apply(
          options.source,
          items.map(({ event }) => ({
            commit: event.source.position.commit,
            events: [event],
            complete: true,
          })),
          { positionKey: replayPositionKey(options.source) },
        ),
      { signal: options.signal, logger, backoff: DEFAULT_BACKOFF },
    );
    update({
      replayed: progress.replayed + result.applied,
      alreadyReplayed: progress.alreadyReplayed + result.skipped,
    });
    await commitNext(items.at(-1)!.record.offset + 1n);
  }

  async function commitNext(next: bigint): Promise<void> {
    await commit(next);
    update({ next: next.toString() });
  }
}

async function decode(record: DeadLetterRecord, schemas: SchemaStore): Promise<ChangeEvent> {
  const where = `dead letter ${record.offset} of ${record.source.topic}/${record.source.partition}@${record.source.offset}`;
  try {
    if (record.value === null) throw new Error('it has no value');
    // The schema may have reached the schema topic only after the record was dead-lettered: read up to its end.
    await schemas.lookup(schemaIdOf(record.value));
    return decodeEvent(record.key, record.value, (id) => schemas.cached(id));
  } catch (error) {
    throw new CdcError(
      'DECODE_FAILED',
      `${where} cannot be replayed: no change event can be decoded from it (${errorMessage(error)})`,
      { offset: record.offset.toString() },
      { cause: error },
    );
  }
}

/** The failure of `item`, whose dead letter the replay stops before. */
function replayFailure(error: unknown, item: Pending): unknown {
  // Stopped (shutdown), or a retriable failure still failing when it was: nothing to say about the event.
  if (error instanceof CdcError && (error.code === 'STOPPED' || error.retriable)) return error;
  const { record, event } = item;
  const what = `dead letter ${record.offset} (${event.op} on ${tableId(event.table)} at ${formatPosition(event.source.position)})`;
  return new CdcError(
    'APPLY_FAILED',
    `replay stopped before ${what}: ${errorMessage(error)}; fix the cause and replay again, it goes on from there`,
    { offset: record.offset.toString() },
    { cause: error },
  );
}
