/**
 * A replica's sink shared by its apply worker and dead-letter replay. Both must write through the same
 * target session: a PostgreSQL replication origin can be set up by one session at a time (before
 * PostgreSQL 16), and replayed writes must carry the same origin as every other replicated write. A sink
 * holds one connection and runs one target transaction at a time, so the callers take turns, call by call.
 */
import type { EventPosition } from '../../schemas/positions/position.ts';
import type { MissingRowCount } from '../apply/missing-rows.ts';
import type { ConflictCount } from '../apply/conflicts/conflict-counts.ts';
import type { ApplyOptions, ApplyResult, Sink, SourceTransaction } from '../apply/sink.ts';

export class SerialSink implements Sink {
  private readonly inner: Sink;
  private turn: Promise<unknown> = Promise.resolve();
  /** An apply call runs on the target (calls take turns, so at most one does). */
  private applyRunning = false;

  constructor(inner: Sink) {
    this.inner = inner;
  }

  prepare(): Promise<void> {
    return this.next(() => this.inner.prepare());
  }

  appliedPosition(stream: string, options?: { readonly fresh?: boolean }): Promise<EventPosition | null> {
    return this.next(() => this.inner.appliedPosition(stream, options));
  }

  apply(
    stream: string,
    transactions: readonly SourceTransaction[],
    options?: ApplyOptions,
  ): Promise<ApplyResult> {
    return this.next(async () => {
      this.applyRunning = true;
      try {
        return await this.inner.apply(stream, transactions, options);
      } finally {
        this.applyRunning = false;
      }
    });
  }

  /** An apply call runs on the target: a target transaction is open, or about to be. */
  get applying(): boolean {
    return this.applyRunning;
  }

  close(): Promise<void> {
    return this.next(() => this.inner.close());
  }

  /** Counts, not a call on the target: no turn needed. */
  missingRows(): readonly MissingRowCount[] {
    return this.inner.missingRows?.() ?? [];
  }

  conflictCounts(): readonly ConflictCount[] {
    return this.inner.conflictCounts?.() ?? [];
  }

  clockSkewMillis(): number | null {
    return this.inner.clockSkewMillis?.() ?? null;
  }

  private next<T>(call: () => Promise<T>): Promise<T> {
    // Each call starts after the previous one settled, whatever its outcome.
    const result = this.turn.then(call, call);
    this.turn = result.catch(() => undefined);
    return result;
  }
}
