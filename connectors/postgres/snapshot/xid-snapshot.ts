/**
 * Which source transactions a chunk's MVCC snapshot saw, from `pg_current_snapshot()` (`xmin:xmax:xip,...`).
 * A transaction is invisible to the snapshot when it was still running (listed in xip) or when its xid is at
 * or past xmax. The second case matters: xmax is one past the latest transaction that had *finished* when the
 * snapshot was taken, so a transaction whose commit record is already in the WAL but which is still flushing
 * it is usually at or past xmax and is not listed in xip at all.
 */
import { CdcError } from '../../../common/errors.ts';

export interface XidSnapshot {
  /** Low 32 bits of xmax: the stream carries 32-bit xids. */
  readonly xmax: number;
  /** Low 32 bits of every xid listed as in progress. */
  readonly inProgress: ReadonlySet<number>;
}

export function parseXidSnapshot(text: string): XidSnapshot {
  const parts = text.split(':');
  const [xmin, xmax, xip] = parts;
  if (
    parts.length !== 3 ||
    xmin === undefined ||
    xmax === undefined ||
    xip === undefined ||
    !/^\d+$/.test(xmax)
  ) {
    throw new CdcError(
      'INTERNAL',
      `cannot read the snapshot ${JSON.stringify(text)} returned by pg_current_snapshot()`,
      {},
    );
  }
  const inProgress = new Set(xip.split(',').filter(Boolean).map(low32));
  return { xmax: low32(xmax), inProgress };
}

/** Whether the transaction with this 32-bit xid (decimal text, as in the stream) was visible to the snapshot. */
export function sawTransaction(snapshot: XidSnapshot, xid: string): boolean {
  if (!/^\d+$/.test(xid)) return false;
  const id = Number(xid) >>> 0;
  if (snapshot.inProgress.has(id)) return false;
  // 32-bit xids compare modulo 2^32 (as PostgreSQL's TransactionIdPrecedes does): id < xmax when the
  // signed difference is negative.
  return ((id - snapshot.xmax) | 0) < 0;
}

function low32(xid: string): number {
  return Number(BigInt(xid) & 0xffffffffn);
}
