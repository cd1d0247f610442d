/**
 * A page of one replica's dead letters, oldest first: what each was (table, operation, position), why it was
 * set aside, and whether a replay already went past it.
 */
import type { DeadLetterRecord, DeadLetterTopic } from '../kafka/dlq-reader.ts';

export interface DeadLetterQuery {
  readonly replica: string;
  /** Only dead letters of this table (`schema.table`). */
  readonly table?: string;
  /** Start at this offset of the dead-letter topic (default: its first record). */
  readonly from?: bigint;
  /** At most this many dead letters (default 100). */
  readonly limit?: number;
}

export interface DeadLetterEntry {
  readonly offset: string;
  /** When it was dead-lettered (ISO 8601). */
  readonly at: string;
  readonly table: string | null;
  readonly op: string | null;
  readonly position: string | null;
  readonly code: string;
  readonly reason: string;
  /** Where it was in the changelog: `topic/partition@offset`. */
  readonly source: string;
  /** A replay of this replica already went past it. */
  readonly replayed: boolean;
}

export interface DeadLetterPage {
  readonly replica: string;
  readonly topic: string;
  /** First kept and next written offset of the topic. */
  readonly low: string;
  readonly high: string;
  /** Offset of the next dead letter a replay would start at. */
  readonly replayFrom: string;
  readonly entries: readonly DeadLetterEntry[];
  /** Where the next page starts (`from`), or null when this page reached the end. */
  readonly next: string | null;
}

export async function listDeadLetters(
  topic: DeadLetterTopic,
  query: DeadLetterQuery,
): Promise<DeadLetterPage> {
  const limit = query.limit ?? 100;
  const range = await topic.range();
  const replayFrom = await topic.replayOffset(query.replica);
  const from = query.from !== undefined && query.from > range.low ? query.from : range.low;
  const entries: DeadLetterEntry[] = [];
  let next: bigint | null = null;
  await topic.read(from, range.high, (records) => {
    for (const record of records) {
      if (!matches(record, query)) continue;
      if (entries.length === limit) {
        next = record.offset;
        return Promise.resolve(false);
      }
      entries.push(entry(record, replayFrom));
    }
    return Promise.resolve(true);
  });
  return {
    replica: query.replica,
    topic: topic.topic,
    low: range.low.toString(),
    high: range.high.toString(),
    replayFrom: replayFrom.toString(),
    entries,
    next: next === null ? null : String(next),
  };
}

function matches(record: DeadLetterRecord, query: DeadLetterQuery): boolean {
  if (record.replica !== null && record.replica !== query.replica) return false;
  return query.table === undefined || record.table === query.table;
}

function entry(record: DeadLetterRecord, replayFrom: bigint): DeadLetterEntry {
  return {
    offset: record.offset.toString(),
    at: new Date(record.timestampMs).toISOString(),
    table: record.table,
    op: record.op,
    position: record.position,
    code: record.code,
    reason: record.reason,
    source: `${record.source.topic}/${record.source.partition}@${record.source.offset}`,
    replayed: record.offset < replayFrom,
  };
}
