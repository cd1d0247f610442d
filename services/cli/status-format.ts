/**
 * `cdc status`: the API's /status answer as two readable tables. A worker's LAG is end to end (since the
 * change's original commit), HOP LAG since its publication into the changelog the worker reads, BACKLOG the
 * records of that changelog not consumed yet.
 */
import type { ApplyWorkerStatus, ConnectorStatus, SnapshotProgress } from '../api/status-types.ts';
import { renderTable } from './table.ts';

export interface StatusResponse {
  readonly connectors: readonly ConnectorStatus[];
  readonly workers: readonly ApplyWorkerStatus[];
}

export function formatStatus(status: StatusResponse): string {
  const connectors =
    status.connectors.length === 0
      ? 'no connectors'
      : renderTable(
          ['CONNECTOR', 'KIND', 'STATE', 'STREAM', 'CONFIRMED', 'RECEIVED', 'LAG', 'SNAPSHOT', 'LAST ERROR'],
          status.connectors.map((c) => [
            c.name,
            c.kind,
            c.state,
            // With candidates, which server of the group is read now.
            c.server !== undefined && c.server.candidates.length > 1
              ? `${c.stream} from ${c.server.current}`
              : c.stream,
            c.confirmed ?? '-',
            c.received ?? '-',
            formatLag(c.lagMillis, c.lagBytes),
            formatSnapshot(c.snapshot),
            c.lastError ?? '',
          ]),
        );
  const workers =
    status.workers.length === 0
      ? 'no apply workers'
      : renderTable(
          [
            'WORKER',
            'SOURCE',
            'STATE',
            'APPLIED',
            'LAG',
            'HOP LAG',
            'BACKLOG',
            'EVENTS',
            'TXNS',
            'ERRORS',
            'DEAD LETTERS',
            'LAST ERROR',
          ],
          status.workers.map((w) => [
            w.name,
            w.source,
            w.state,
            w.appliedPosition ?? '-',
            formatLag(w.endToEndLagMillis, null),
            formatLag(w.hopLagMillis, null),
            w.backlogEvents === null ? '-' : String(w.backlogEvents),
            String(w.eventsApplied),
            String(w.transactionsApplied),
            String(w.errors),
            String(w.deadLetters),
            w.lastError ?? '',
          ]),
        );
  // Warnings name a table the connector cannot fully capture and the fix; they stay until it is fixed.
  const warnings = status.connectors.flatMap((c) =>
    (c.warnings ?? []).map((w) => `warning: ${c.name}: ${w}`),
  );
  const notes = [...status.connectors.flatMap(connectorNotes), ...warnings];
  return `${connectors}\n\n${workers}\n${notes.length === 0 ? '' : `\n${notes.join('\n')}\n`}`;
}

/** What the table has no column for: who holds the capture lease (`ha`), and a re-snapshot needed or running. */
function connectorNotes(c: ConnectorStatus): string[] {
  const notes: string[] = [];
  const lease = c.lease;
  if (lease !== undefined) {
    const group = lease.members === null ? '' : ` (${lease.members} in the lease group)`;
    const holder =
      lease.holder === null ? 'another process' : `${lease.holder.host} (${lease.holder.member})`;
    notes.push(
      lease.state === 'active'
        ? `lease: ${c.name}: this process captures${lease.heldSince === null ? '' : ` since ${lease.heldSince}`}${group}`
        : lease.state === 'standby'
          ? `lease: ${c.name}: standby, ${holder} captures${group}`
          : `lease: ${c.name}: joining the lease group`,
    );
  }
  if (c.resnapshot?.state === 'needed')
    notes.push(
      `re-snapshot needed: ${c.name}: ${c.resnapshot.reason} (cdc resnapshot ${c.name} --api <url>)`,
    );
  else if (c.resnapshot?.state === 'running')
    notes.push(`re-snapshot running: ${c.name}: ${c.resnapshot.reason}`);
  return notes;
}

export function formatLag(millis: number | null, bytes: number | null): string {
  const parts: string[] = [];
  if (millis !== null)
    parts.push(millis < 10_000 ? `${Math.round(millis)} ms` : `${(millis / 1000).toFixed(1)} s`);
  if (bytes !== null) parts.push(formatBytes(bytes));
  return parts.length === 0 ? '-' : parts.join(' / ');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatSnapshot(snapshot: SnapshotProgress | null): string {
  if (snapshot === null) return '-';
  if (snapshot.done) return `done (${snapshot.rowsDone} rows)`;
  const percent =
    snapshot.rowsTotal > 0
      ? ` ${Math.min(100, Math.floor((snapshot.rowsDone / snapshot.rowsTotal) * 100))}%`
      : '';
  return `${snapshot.rowsDone}/${snapshot.rowsTotal} rows${percent}, table ${snapshot.tablesDone + 1}/${snapshot.tablesTotal}`;
}
