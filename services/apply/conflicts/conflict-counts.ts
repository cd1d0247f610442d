/**
 * Conflicts seen, per table, kind, policy and outcome (`cdc_conflicts_total`); a target transaction's counts
 * join the totals only when it commits, so a retried transaction counts once.
 */
import type { ConflictKind, ConflictOutcome } from './types.ts';

export interface ConflictCount {
  /** `schema.table` of the source table. */
  readonly table: string;
  readonly kind: ConflictKind;
  readonly policy: string;
  readonly outcome: ConflictOutcome;
  readonly count: number;
}

export class ConflictCounts {
  private readonly totals = new Map<string, ConflictCount>();
  private pending: Omit<ConflictCount, 'count'>[] = [];

  note(seen: Omit<ConflictCount, 'count'>): void {
    this.pending.push(seen);
  }

  /** A point to roll back to (a savepoint's counts). */
  mark(): number {
    return this.pending.length;
  }

  /** Forgets what was noted since `mark`: it was rolled back to a savepoint. */
  rollbackTo(mark: number): void {
    this.pending.length = Math.min(mark, this.pending.length);
  }

  commit(): void {
    for (const seen of this.pending) {
      const key = [seen.table, seen.kind, seen.policy, seen.outcome].join('\u0000');
      this.totals.set(key, { ...seen, count: (this.totals.get(key)?.count ?? 0) + 1 });
    }
    this.pending = [];
  }

  discard(): void {
    this.pending = [];
  }

  counts(): ConflictCount[] {
    return [...this.totals.values()];
  }
}
