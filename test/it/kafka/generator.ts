/**
 * A deterministic source for the Kafka tests: a SourceConnector (our own interface) whose event `n` (0-based
 * ordinal) sits in transaction `floor(n / perTx)` at index `n % perTx`, commit LSN `0x1000 + 16 * tx`. Resuming,
 * it restarts at the beginning of the transaction holding the resume position, the way PostgreSQL re-sends a
 * partly published transaction, so the publisher's guard has something to drop.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../../../schemas/positions/lsn.ts';
import type { CommitPosition, EventPosition } from '../../../schemas/positions/position.ts';

export const generatedTable: TableSchema = {
  database: 'gen',
  schema: 'public',
  table: 'items',
  dialect: 'postgres',
  key: ['id'],
  beforeImage: 'key',
  columns: [
    { name: 'id', type: { kind: 'int64' }, sourceType: 'int8', nullable: false },
    { name: 'payload', type: { kind: 'string' }, sourceType: 'text', nullable: true },
  ],
};

export function commitOf(tx: number): CommitPosition {
  return { kind: 'pg', lsn: lsnFromBigInt(0x1000n + 16n * BigInt(tx)) };
}

export function ordinalOf(position: EventPosition, perTx: number): number {
  if (position.commit.kind !== 'pg') throw new Error('generator positions are pg positions');
  return Number((position.commit.lsn - 0x1000n) / 16n) * perTx + position.index;
}

export class GeneratedSource implements SourceConnector {
  readonly name: string;
  readonly total: number;
  readonly perTx: number;
  /** Extra characters in the connector state, to exceed what Kafka stores with an offset. */
  readonly statePadding: number;
  readonly acknowledged: CommitPosition[] = [];
  /** Ordinals yielded so far, including the re-sent ones. */
  yielded = 0;

  constructor(name: string, total: number, perTx = 5, statePadding = 0) {
    this.name = name;
    this.total = total;
    this.perTx = perTx;
    this.statePadding = statePadding;
  }

  event(n: number): ChangeEvent {
    const tx = Math.floor(n / this.perTx);
    const index = n % this.perTx;
    return {
      op: 'c',
      table: generatedTable,
      before: null,
      after: { id: BigInt(n), payload: n % 7 === 0 ? null : `row ${n}` },
      source: {
        connector: this.name,
        position: { commit: commitOf(tx), index },
        txId: String(tx),
        commitTimeMicros: BigInt(n),
        origin: null,
        snapshot: false,
      },
      transaction: { id: String(tx), index, total: this.perTx },
    };
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    let n =
      resume.position === null
        ? 0
        : Math.floor(ordinalOf(resume.position, this.perTx) / this.perTx) * this.perTx;
    while (n < this.total && !signal.aborted) {
      const tx = Math.floor(n / this.perTx);
      const end = Math.min((tx + 1) * this.perTx, this.total);
      // Every third transaction arrives in two batches, the first without a commit position.
      if (tx % 3 === 0 && end - n > 1) {
        const half = n + Math.ceil((end - n) / 2);
        yield { events: this.range(n, half), commit: null };
        n = half;
      }
      yield {
        events: this.range(n, end),
        commit: commitOf(tx),
        state:
          this.statePadding > 0 ? { ordinal: end, padding: 'x'.repeat(this.statePadding) } : { ordinal: end },
      };
      n = end;
      // Give the event loop a turn, as a real source waiting on its socket would: the publisher writes what it
      // gathered when the source has nothing ready.
      if (tx % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private range(from: number, to: number): ChangeEvent[] {
    const events: ChangeEvent[] = [];
    for (let n = from; n < to; n++) events.push(this.event(n));
    this.yielded += events.length;
    return events;
  }

  acknowledge(commit: CommitPosition): Promise<void> {
    this.acknowledged.push(commit);
    return Promise.resolve();
  }

  status(): ConnectorStatus {
    return {
      name: this.name,
      kind: 'postgres',
      state: 'streaming',
      stream: 'generator',
      confirmed: null,
      received: null,
      lagBytes: null,
      lagMillis: null,
      snapshot: null,
      lastError: null,
    };
  }

  async requestSnapshot(): Promise<void> {}
}
