/**
 * `npm run bench`: catch-up throughput of each pipeline stage for pre-written rows, printed as a table next to
 * the raw limits measured in the same run. BENCH_ROWS sets the row count (default 1,000,000). Needs the local
 * stack (`npm run stack:up`).
 */
import { createLogger } from '../common/logger.ts';
import { benchEnv } from './env.ts';
import type { StageResult } from './measure.ts';
import { benchMariadb } from './mariadb-bench.ts';
import { benchPostgres } from './postgres-bench.ts';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });

function rate(rowsCount: number, seconds: number): string {
  return Math.round(rowsCount / seconds).toLocaleString('en-US');
}

function printTable(results: readonly StageResult[]): void {
  const header = [
    'stage',
    'rows',
    'seconds',
    'rows/s',
    'raw limit (same run)',
    'raw rows/s',
    'ratio',
    'peak RSS MB',
  ];
  const lines = results.map((r) => [
    r.stage,
    r.rows.toLocaleString('en-US'),
    r.seconds.toFixed(1),
    rate(r.rows, r.seconds),
    r.rawName ?? '',
    r.rawSeconds === undefined ? '' : rate(r.rows, r.rawSeconds),
    r.rawSeconds === undefined ? '' : `${((r.rawSeconds / r.seconds) * 100).toFixed(0)}%`,
    String(r.peakRssMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(row(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(row(line));
}

const only = process.env.BENCH_ONLY; // 'postgres' or 'mariadb' to run one source
const results = [
  ...(only === 'mariadb' ? [] : await benchPostgres(benchEnv, rows, logger)),
  ...(only === 'postgres' ? [] : await benchMariadb(benchEnv, rows, logger)),
];
console.log(`\nCatch-up of ${rows.toLocaleString('en-US')} pre-written rows (node ${process.version}):\n`);
printTable(results);
