/** What the stream knows about itself, read by status(): updated in place by the stream loop. */
import type { Lsn } from '../../../schemas/positions/lsn.ts';
import type { ConnectorStatus } from '../../connector.ts';

export interface StreamTracker {
  state: ConnectorStatus['state'];
  /** Last WAL position received from the walsender. */
  received: Lsn | null;
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
    confirmed: null,
    lagBytes: null,
    lastCommitTimeMicros: null,
    idle: false,
    lastError: null,
  };
}
