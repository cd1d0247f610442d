/** What the stream knows about itself, read by status(): updated in place by the stream loop. */
import { parseLsn, type Lsn } from '../../../schemas/positions/lsn.ts';
import type { ConnectorStatus } from '../../connector.ts';

export interface StreamTracker {
  state: ConnectorStatus['state'];
  /** Last WAL position received from the walsender, of a message other than a row change. */
  received: Lsn | null;
  /** The position of the last row change received, as the library's text: parsed only when read (lastReceived). */
  receivedText: string | null;
  /** The slot's confirmed_flush_lsn as last read from the server. */
  confirmed: Lsn | null;
  /** pg_current_wal_lsn() - confirmed_flush_lsn at the last check. */
  lagBytes: number | null;
  /** Commit time (Unix micros) of the last transaction received. */
  lastCommitTimeMicros: bigint | null;
  /** True while the stream has nothing waiting: not behind, so no time lag. */
  idle: boolean;
  lastError: string | null;
}

export function newTracker(): StreamTracker {
  return {
    state: 'starting',
    received: null,
    receivedText: null,
    confirmed: null,
    lagBytes: null,
    lastCommitTimeMicros: null,
    idle: false,
    lastError: null,
  };
}

/** The last WAL position received, row changes included. */
export function lastReceived(tracker: StreamTracker): Lsn | null {
  const row = tracker.receivedText === null ? null : parseLsn(tracker.receivedText);
  if (row === null) return tracker.received;
  return tracker.received === null || row > tracker.received ? row : tracker.received;
}
