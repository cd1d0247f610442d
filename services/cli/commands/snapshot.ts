/**
 * `cdc snapshot --api <url> --source <name> [--tables a,b]`: requests a snapshot, then follows it on /status
 * with a progress bar (rows done of the estimated total, and the rate) until the connector reports it done,
 * or until `--timeout` ran out (exit code 1; the snapshot itself goes on).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import type { SnapshotProgress } from '../../api/status-types.ts';
import { CdcError } from '../../../common/errors.ts';
import { ApiClient } from '../api-client.ts';
import { out } from '../output.ts';

export interface SnapshotOptions {
  readonly api: string;
  readonly source: string;
  readonly tables?: readonly string[];
  /** Poll interval in ms. */
  readonly interval?: number;
  /** Give up after this many ms (the snapshot itself goes on). */
  readonly timeout?: number;
}

export async function snapshotCommand(options: SnapshotOptions): Promise<void> {
  const client = new ApiClient(options.api);
  const before = await snapshotOf(client, options.source);
  const accepted = await client.requestSnapshot(options.source, options.tables ?? []);
  const what = accepted.tables.length > 0 ? accepted.tables.join(', ') : 'all captured tables';
  out(`snapshot of ${what} requested from ${accepted.source}`);

  const bar = new SingleBar({
    format:
      '{table} |{bar}| {value}/{total} rows | {rate} rows/s | table {tablesDone}/{tablesTotal} | {duration_formatted}',
    hideCursor: true,
  });
  const started = Date.now();
  let barStarted = false;
  let seenRunning = false;
  let finished: SnapshotProgress;
  try {
    for (;;) {
      const progress = await snapshotOf(client, options.source);
      if (progress !== null) {
        const payload = {
          table: progress.table ?? '-',
          rate: Math.round(progress.rowsPerSecond),
          tablesDone: progress.tablesDone,
          tablesTotal: progress.tablesTotal,
        };
        const total = Math.max(progress.rowsTotal, progress.rowsDone, 1);
        if (!barStarted) bar.start(total, progress.rowsDone, payload);
        else bar.setTotal(total);
        bar.update(progress.rowsDone, payload);
        barStarted = true;
        if (!progress.done) seenRunning = true;
        // A snapshot faster than one poll is never seen running: a done snapshot that differs from the one
        // before the request is the new one.
        if (progress.done && (seenRunning || JSON.stringify(progress) !== JSON.stringify(before))) {
          finished = progress;
          break;
        }
      }
      if (options.timeout !== undefined && Date.now() - started >= options.timeout) {
        throw new CdcError(
          'TIMED_OUT',
          `the snapshot of ${options.source} was not done after ${options.timeout} ms (--timeout); it goes on in the pipeline: follow it with cdc status`,
          { source: options.source, timeoutMs: options.timeout },
        );
      }
      await delay(Math.min(options.interval ?? 500, timeLeft(started, options.timeout)));
    }
  } finally {
    if (barStarted) bar.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  out(
    `snapshot of ${options.source} done: ${finished.rowsDone} rows in ${finished.tablesTotal} tables, ${seconds.toFixed(1)} s`,
  );
}

function timeLeft(started: number, timeout: number | undefined): number {
  return timeout === undefined ? Infinity : Math.max(0, started + timeout - Date.now());
}

async function snapshotOf(client: ApiClient, source: string): Promise<SnapshotProgress | null> {
  const status = await client.status();
  const connector = status.connectors.find((c) => c.name === source);
  if (connector === undefined) {
    const names = status.connectors.map((c) => c.name).join(', ') || 'none';
    throw new CdcError('NOT_FOUND', `no source named ${JSON.stringify(source)} (sources: ${names})`, {
      source,
    });
  }
  if (connector.state === 'failed') {
    throw new CdcError(
      'STOPPED',
      `connector ${source} failed during the snapshot: ${connector.lastError ?? 'no error reported'}`,
      {
        source,
      },
    );
  }
  return connector.snapshot;
}
