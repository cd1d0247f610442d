/**
 * `npm run bench`: catch-up throughput of each pipeline stage for pre-written rows, printed as a table next to
 * the raw limits measured in the same run, then the figures of a pipeline running while the source is written
 * (commit → replica lag, small transactions: live-bench.ts). BENCH_ROWS sets the catch-up row count (default
 * 1,000,000); BENCH_ONLY=postgres, mariadb, large or live runs one part; BENCH_CAPTURE_ONLY=1 leaves out the apply stages. Needs the local stack (`npm run stack:up`).
 */
import { tuneHeap } from '../common/heap-tuning.ts';
import { createLogger } from '../common/logger.ts';
import { benchEnv } from './env.ts';
import type { StageResult } from './measure.ts';
import { printLiveTable, benchLive } from './live-bench.ts';
import { benchMariadb } from './mariadb-bench.ts';
import { benchPostgres } from './postgres-bench.ts';
import { printTable, rate } from './table.ts';
import { judge } from './targets.ts';
import { benchLargeTransaction } from './large-transaction.ts';

tuneHeap();
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });

function printResults(results: readonly StageResult[]): void {
  const header = [
    'stage',
    'rows',
    'seconds',
    'rows/s',
    'raw limit (same run)',
    'raw rows/s',
    'ratio',
    'peak RSS MB',
    'CPU µs/row',
    'loop busy',
    'target',
    'met',
  ];
  printTable(
    header,
    results.map((r) => [
      r.stage,
      r.rows.toLocaleString('en-US'),
      r.seconds.toFixed(1),
      rate(r.rows, r.seconds),
      r.rawName ?? '',
      r.rawSeconds === undefined ? '' : rate(r.rows, r.rawSeconds),
      r.rawSeconds === undefined ? '' : `${((r.rawSeconds / r.seconds) * 100).toFixed(0)}%`,
      String(r.peakRssMb),
      r.cpuMicrosPerRow === undefined ? '' : r.cpuMicrosPerRow.toFixed(1),
      r.loopBusy === undefined ? '' : `${(r.loopBusy * 100).toFixed(0)}%`,
      judge(r).text,
      judge(r).met,
    ]),
  );
}

const only = process.env.BENCH_ONLY; // 'postgres', 'mariadb', 'large' or 'live' to run one part
const results = [
  ...(only === undefined || only === 'postgres' ? await benchPostgres(benchEnv, rows, logger) : []),
  ...(only === undefined || only === 'mariadb' ? await benchMariadb(benchEnv, rows) : []),
  ...(only === undefined || only === 'large' ? await benchLargeTransaction(benchEnv, rows, logger) : []),
];
const live = only === undefined || only === 'live' ? await benchLive(benchEnv, logger) : [];
if (results.length > 0) {
  console.log(`\nCatch-up of ${rows.toLocaleString('en-US')} pre-written rows (node ${process.version}):\n`);
  printResults(results);
}
if (live.length > 0) {
  console.log(
    `\nWhile the source is written, the whole pipeline in one process (node ${process.version}):\n`,
  );
  printLiveTable(live);
}
