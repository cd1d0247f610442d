/**
 * The parts of the saved connector state the stream itself keeps (the snapshot keeps its own,
 * snapshot/snapshot-state.ts): read defensively, since the state is JSON from Kafka.
 */

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

/** A text value (the GTID position a first start began at); anything else reads as absent. */
export function readString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
