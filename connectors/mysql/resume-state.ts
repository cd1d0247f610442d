/**
 * The parts of the saved connector state the stream itself keeps (the snapshot keeps its own,
 * snapshot/snapshot-state.ts): read defensively, since the state is JSON from Kafka; and where a restarted stream
 * begins from them.
 */
import { CdcError } from '../../common/errors.ts';
import { formatCommit, type EventPosition } from '../../schemas/positions/position.ts';
import { parseGtidPosition } from '../../schemas/positions/gtid.ts';
import type { StreamStart } from './replication/transaction-stream.ts';
import type { SnapshotState } from './snapshot/snapshot-state.ts';

/** A large transaction published in pieces: where it began and its seq, to restream it after a restart. */
export interface PendingState {
  readonly from: string;
  readonly seq: string;
}

export function readPending(value: unknown): PendingState | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  return typeof record.from === 'string' && typeof record.seq === 'string'
    ? { from: record.from, seq: record.seq }
    : null;
}

/** A list of names (tables truncated in a restarted snapshot's overlap); anything else reads as empty. */
export function readStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Server ids of the source's replication group (candidates); anything else reads as none. */
export function readServerIds(value: unknown): number[] {
  return Array.isArray(value)
    ? value.filter((item): item is number => Number.isInteger(item) && (item as number) > 0)
    : [];
}

/** A text value (the GTID position a first start began at); anything else reads as absent. */
export function readString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * Where the stream begins from what was saved: after the last published event (a transaction published in part
 * is streamed again from its start, skipping what was published), at the snapshot's position, or where a first
 * start began; null when nothing was saved (a first start without a snapshot).
 */
export function savedStart(
  flavor: 'mariadb' | 'mysql',
  position: EventPosition | null,
  snapshot: SnapshotState | null,
  pending: PendingState | null,
  recordedFrom: string | null,
): StreamStart | null {
  if (position !== null) {
    const commit = position.commit;
    if (commit.kind !== 'binlog' || commit.flavor !== flavor) {
      throw new CdcError(
        'POSITION_MISMATCH',
        `cannot resume a ${flavor} binlog stream from ${formatCommit(commit)}`,
        {},
      );
    }
    if (pending !== null && BigInt(pending.seq) === commit.seq) {
      return {
        from: parseGtidPosition(flavor, pending.from),
        seq: commit.seq - 1n,
        skip: { seq: commit.seq, index: position.index },
      };
    }
    return { from: parseGtidPosition(flavor, commit.gtidSet), seq: commit.seq, skip: null };
  }
  if (snapshot !== null)
    return { from: parseGtidPosition(flavor, snapshot.from), seq: BigInt(snapshot.seq), skip: null };
  if (recordedFrom !== null) return { from: parseGtidPosition(flavor, recordedFrom), seq: 0n, skip: null };
  return null;
}
