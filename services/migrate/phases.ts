/**
 * The phase of a running migration, from the status of its capture and apply:
 *
 *   starting → copying (snapshot rows done/total) → catching-up (lag above the threshold) ⇄ in-sync
 *   any → failed (a task failed and no retry can fix it)
 *
 * In sync means the copy has reached the replica (at least as many changes applied as the snapshot read) and
 * the apply worker's lag (the age of the oldest change it holds and has not applied) is under the threshold.
 */
import type { ApplyWorkerStatus, ConnectorStatus } from '../api/status-types.ts';

export type MigrationPhase =
  | { readonly phase: 'starting' }
  | {
      readonly phase: 'copying';
      readonly table: string | null;
      readonly rowsDone: number;
      readonly rowsTotal: number;
      readonly rowsApplied: number;
    }
  | { readonly phase: 'catching-up'; readonly lagMillis: number | null; readonly rowsApplied: number }
  | { readonly phase: 'in-sync'; readonly lagMillis: number; readonly rowsApplied: number }
  | { readonly phase: 'failed'; readonly error: string };

export function migrationPhase(
  connector: ConnectorStatus | undefined,
  worker: ApplyWorkerStatus | undefined,
  inSyncLagMs: number,
): MigrationPhase {
  if (connector === undefined || worker === undefined) return { phase: 'starting' };
  if (connector.state === 'failed' || worker.state === 'failed') {
    return {
      phase: 'failed',
      error: connector.lastError ?? worker.lastError ?? 'a task failed without an error message',
    };
  }
  const rowsApplied = worker.eventsApplied;
  const snapshot = connector.snapshot;
  if (connector.state === 'starting' && snapshot === null) return { phase: 'starting' };
  if (connector.state === 'snapshotting' || (snapshot !== null && !snapshot.done)) {
    return {
      phase: 'copying',
      table: snapshot?.table ?? null,
      rowsDone: snapshot?.rowsDone ?? 0,
      rowsTotal: Math.max(snapshot?.rowsTotal ?? 0, snapshot?.rowsDone ?? 0),
      rowsApplied,
    };
  }
  const lag = worker.lagMillis;
  // Apply lag is the age of the oldest change the worker holds and has not applied: 0 between batches too, so
  // it alone cannot tell a replica that has not received the copy yet from one that is caught up.
  const copied = snapshot === null || rowsApplied >= snapshot.rowsDone;
  if (!copied || lag === null || lag > inSyncLagMs)
    return { phase: 'catching-up', lagMillis: lag, rowsApplied };
  return { phase: 'in-sync', lagMillis: lag, rowsApplied };
}

export function formatPhase(phase: MigrationPhase): string {
  switch (phase.phase) {
    case 'starting':
      return 'starting: connecting to the source, Kafka and the target';
    case 'copying': {
      const percent = phase.rowsTotal > 0 ? Math.floor((100 * phase.rowsDone) / phase.rowsTotal) : 0;
      const table = phase.table === null ? '' : `, table ${phase.table}`;
      return `copying: ${phase.rowsDone}/${phase.rowsTotal} rows read (${percent}%)${table}, ${phase.rowsApplied} changes applied`;
    }
    case 'catching-up':
      return `catching-up: lag ${phase.lagMillis === null ? '-' : `${phase.lagMillis} ms`}, ${phase.rowsApplied} changes applied`;
    case 'in-sync':
      return `in-sync: lag ${phase.lagMillis} ms, ${phase.rowsApplied} changes applied`;
    case 'failed':
      return `failed: ${phase.error}`;
  }
}
