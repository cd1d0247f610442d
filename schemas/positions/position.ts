/**
 * Source positions: where a change sits in its source's log, as a value with a total order.
 *
 * Every event is ordered by (commit position, index within the transaction). A commit position is the
 * commit LSN of a PostgreSQL transaction (or the LSN of a snapshot watermark), or the GTID of a
 * MySQL/MariaDB transaction. Positions of different source kinds never compare.
 */
import { CdcError } from '../../common/errors.ts';
import { compareLsn, formatLsn, parseLsn, type Lsn } from './lsn.ts';

export type CommitPosition = { readonly kind: 'pg'; readonly lsn: Lsn } | BinlogCommitPosition;

/**
 * A MySQL/MariaDB commit position. `gtidSet` is the formatted GTID set executed up to and including this
 * transaction (the resume point); `seq` is a per-stream monotonically increasing ordinal used for ordering,
 * because GTID sets over several domains or servers are only partially ordered.
 */
export interface BinlogCommitPosition {
  readonly kind: 'binlog';
  readonly flavor: 'mariadb' | 'mysql';
  readonly gtidSet: string;
  readonly seq: bigint;
  readonly file?: string;
  readonly offset?: number;
}

export interface EventPosition {
  readonly commit: CommitPosition;
  /** Index of the event within its transaction (or snapshot chunk), from 0. */
  readonly index: number;
}

export function compareCommit(a: CommitPosition, b: CommitPosition): -1 | 0 | 1 {
  if (a.kind === 'pg' && b.kind === 'pg') return compareLsn(a.lsn, b.lsn);
  if (a.kind === 'binlog' && b.kind === 'binlog') return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
  throw new CdcError(
    'POSITION_MISMATCH',
    `cannot compare a ${a.kind} position with a ${b.kind} position`,
    {},
  );
}

export function comparePosition(a: EventPosition, b: EventPosition): -1 | 0 | 1 {
  const byCommit = compareCommit(a.commit, b.commit);
  if (byCommit !== 0) return byCommit;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
}

/** A compact, stable text form: `pg:16/B374D848#3` or `binlog:mariadb:42:0-1-42#3`; parsed by parsePosition. */
export function formatPosition(position: EventPosition): string {
  if (position === lastPosition) return lastPositionText;
  const text = `${formatCommit(position.commit)}#${position.index}`;
  lastPosition = position;
  lastPositionText = text;
  return text;
}

// Capture formats each event's position twice (its value and its header), and the events of a transaction share
// one commit object: the last of each is remembered by identity (positions are immutable values).
let lastPosition: EventPosition | null = null;
let lastPositionText = '';
let lastCommit: CommitPosition | null = null;
let lastCommitText = '';

export function formatCommit(commit: CommitPosition): string {
  if (commit === lastCommit) return lastCommitText;
  const text = commitText(commit);
  lastCommit = commit;
  lastCommitText = text;
  return text;
}

function commitText(commit: CommitPosition): string {
  switch (commit.kind) {
    case 'pg':
      return `pg:${formatLsn(commit.lsn)}`;
    case 'binlog': {
      const file = commit.file !== undefined ? `@${commit.file}:${commit.offset ?? 0}` : '';
      return `binlog:${commit.flavor}:${commit.seq}:${commit.gtidSet}${file}`;
    }
  }
}

export function parsePosition(text: string): EventPosition {
  const hash = text.lastIndexOf('#');
  const index = hash >= 0 ? Number(text.slice(hash + 1)) : NaN;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new CdcError('POSITION_INVALID', `not an event position: ${JSON.stringify(text)}`, { value: text });
  }
  return { commit: parseCommit(text.slice(0, hash)), index };
}

export function parseCommit(text: string): CommitPosition {
  if (text.startsWith('pg:')) return { kind: 'pg', lsn: parseLsn(text.slice(3)) };
  const binlog = /^binlog:(mariadb|mysql):(\d+):([^@]*)(?:@(.+):(\d+))?$/.exec(text);
  if (binlog) {
    const [, flavor, seq, gtidSet, file, offset] = binlog;
    return {
      kind: 'binlog',
      flavor: flavor as 'mariadb' | 'mysql',
      seq: BigInt(seq!),
      gtidSet: gtidSet!,
      ...(file !== undefined ? { file, offset: Number(offset) } : {}),
    };
  }
  throw new CdcError('POSITION_INVALID', `not a commit position: ${JSON.stringify(text)}`, { value: text });
}
