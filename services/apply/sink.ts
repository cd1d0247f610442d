/**
 * The contract every replica sink fulfils: apply many source transactions in one target transaction, in
 * order, together with the applied position of the stream, so a redelivered event is recognized and skipped.
 */
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import type { CommitPosition, EventPosition } from '../../schemas/positions/position.ts';
import type { CdcError } from '../../common/errors.ts';
import type { MissingRowCount } from './missing-rows.ts';
import type { ConflictCount } from './conflicts/conflict-counts.ts';

/**
 * A source transaction, or the part of one that arrived in a consumer batch. `complete` is false for the
 * leading part of a transaction cut by a batch boundary: the rest follows in the next batch.
 */
export interface SourceTransaction {
  readonly commit: CommitPosition;
  readonly events: readonly ChangeEvent[];
  readonly complete: boolean;
}

export interface EventFailure {
  /** Index of the transaction in the `apply` call, and of the event within it. */
  readonly transactionIndex: number;
  readonly eventIndex: number;
  readonly event: ChangeEvent;
  readonly error: CdcError;
}

export interface ApplyOptions {
  /**
   * When given, each event is applied on its own under a savepoint. A failing event is rolled back to its
   * savepoint and handed to this callback before the target transaction commits (the applied position still
   * moves past it). If the callback throws, the whole target transaction rolls back and the error propagates.
   * Retriable failures (connection lost, deadlock) are never handed over: they propagate.
   */
  readonly onEventFailure?: (failure: EventFailure) => Promise<void>;
  /**
   * Reads and stores the applied position under this key instead of under `stream` (origin marking still
   * follows `stream`). Dead-letter replay uses it: replayed events lie before the stream's applied position,
   * so under their own key they are applied, and recognized when replayed twice, while the stream's position
   * never moves backwards.
   */
  readonly positionKey?: string;
  /**
   * The partition of a keyed changelog these transactions come from (positionKey is then its row). PostgreSQL
   * marks each partition's writes with an origin of its own, `<origin>#<partition>`: an origin is active in one
   * session at a time, and the partitions of one replica are applied by several workers at once.
   */
  readonly partition?: number;
}

export interface ApplyResult {
  /** Events written to the target. */
  readonly applied: number;
  /** Events at or before the stored applied position (redeliveries), not written again. */
  readonly skipped: number;
  /** Events handed to onEventFailure. */
  readonly failed: number;
  /** The applied position stored with this target transaction, or null when nothing was new. */
  readonly position: EventPosition | null;
  /** Source commit time of the last event applied, microseconds since the Unix epoch. */
  readonly commitTimeMicros: bigint | null;
}

export interface Sink {
  /** Connects and creates what the sink needs (position table, replication origin). Idempotent. */
  prepare(): Promise<void>;
  /**
   * Last applied position of `stream` (the source connector name), or null when nothing was applied yet.
   * `fresh` reads it from the replica rather than from what this sink last wrote or read: a worker that has
   * just (re)gained its partitions does so, since another worker may have applied the stream meanwhile.
   */
  appliedPosition(stream: string, options?: { readonly fresh?: boolean }): Promise<EventPosition | null>;
  /** Applies `transactions` in order in one target transaction, with the new applied position of `stream`. */
  apply(
    stream: string,
    transactions: readonly SourceTransaction[],
    options?: ApplyOptions,
  ): Promise<ApplyResult>;
  close(): Promise<void>;
  /** Updates and deletes that found no row, per table and operation, since the sink was created (SQL sinks). */
  missingRows?(): readonly MissingRowCount[];
  /** Conflicts detected, per table, kind, policy and outcome, since the sink was created (conflict handling on). */
  conflictCounts?(): readonly ConflictCount[];
  /**
   * The most a change's commit time was ahead of the target's clock in the last minute or two, in ms: its origin's
   * clock runs ahead by at least that much (conflict handling on; null or absent otherwise).
   */
  clockSkewMillis?(): number | null;
}
