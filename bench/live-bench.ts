/**
 * The benchmarks of a pipeline that runs while the source is written (not a catch-up): commit → replica lag
 * under a steady writer, and small transactions end to end. Printed as a table of their own, each figure next
 * to the target and, where there is one, the limit measured in the same run.
 *
 * BENCH_LAG_ROWS_PER_SECOND (default 10,000), BENCH_LAG_SECONDS (default 20) and BENCH_LAG_ROWS_PER_TRANSACTION
 * (default 10) shape the steady writer; BENCH_SMALL_TRANSACTIONS (default 50,000) and BENCH_SMALL_CLIENTS
 * (default 8) the pgbench run; BENCH_SYNC_COMMITS (default 500) the synchronous capture's commits.
 */
import type { Logger } from '../common/logger.ts';
import type { BenchEnv } from './env.ts';
import { benchLag } from './lag-bench.ts';
import { benchSmallTransactions } from './small-transactions.ts';
import { benchSyncCommit } from './sync-commit.ts';
import { printTable } from './table.ts';

export interface LiveRow {
  readonly stage: string;
  readonly workload: string;
  readonly figure: string;
  readonly limit: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean;
}

const number = (value: number): string => Math.round(value).toLocaleString('en-US');
const millis = (value: number): string => `${value.toFixed(1)} ms`;
const setting = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export async function benchLive(env: BenchEnv, logger: Logger): Promise<LiveRow[]> {
  const lag = await benchLag(
    env,
    {
      rowsPerSecond: setting('BENCH_LAG_ROWS_PER_SECOND', 10_000),
      rowsPerTransaction: setting('BENCH_LAG_ROWS_PER_TRANSACTION', 10),
      seconds: setting('BENCH_LAG_SECONDS', 20),
      warmUpSeconds: 2,
      writers: 4,
    },
    logger,
  );
  const small = await benchSmallTransactions(
    env,
    {
      transactions: setting('BENCH_SMALL_TRANSACTIONS', 50_000),
      clients: setting('BENCH_SMALL_CLIENTS', 8),
    },
    logger,
  );
  const sync = await benchSyncCommit(env, setting('BENCH_SYNC_COMMITS', 500), logger);
  const { workload } = lag;
  const addedP50 = sync.sync.p50Millis - sync.async.p50Millis;
  const applied = small.transactions / small.seconds;
  const written = small.transactions / small.sourceSeconds;
  return [
    {
      stage: 'commit → replica lag, steady writer (PostgreSQL → PostgreSQL)',
      workload: `${number(workload.rowsPerSecond)} rows/s asked, ${number(lag.achievedRowsPerSecond)} written, ${workload.rowsPerTransaction}-row transactions, ${workload.seconds} s, ${number(lag.rows)} rows after a ${workload.warmUpSeconds} s warm-up`,
      figure: `p50 ${millis(lag.p50Millis)}, p99 ${millis(lag.p99Millis)} (max ${millis(lag.maxMillis)}; warm-up max ${millis(lag.warmUpMaxMillis)})`,
      limit: '',
      ratio: '',
      target: 'p50 ≤ 30 ms, p99 ≤ 100 ms',
      met: lag.p50Millis <= 30 && lag.p99Millis <= 100,
    },
    {
      stage: 'small transactions end to end (PostgreSQL → PostgreSQL)',
      workload: `${number(small.transactions)} pgbench transactions of 1–5 rows, ${setting('BENCH_SMALL_CLIENTS', 8)} clients; ${small.wholeChecks} whole-transaction checks`,
      figure: `${number(applied)} transactions/s applied (peak RSS ${small.peakRssMb} MB)`,
      limit: `pgbench writing them: ${number(written)}/s`,
      ratio: `${((applied / written) * 100).toFixed(0)}%`,
      target: '≥ 5,000 transactions/s',
      met: applied >= 5_000,
    },
    {
      stage: 'synchronous capture: source commit latency (PostgreSQL)',
      workload: `${number(sync.commits)} single-row commits, one client, each waiting for its Kafka transaction`,
      figure: `p50 ${millis(sync.sync.p50Millis)}, p99 ${millis(sync.sync.p99Millis)}`,
      limit: `capture asynchronous: p50 ${millis(sync.async.p50Millis)}, p99 ${millis(sync.async.p99Millis)}`,
      ratio: `+${millis(addedP50)} p50`,
      target: 'p50 adds ≤ 20 ms',
      met: addedP50 <= 20,
    },
  ];
}

export function printLiveTable(rows: readonly LiveRow[]): void {
  const header = ['stage', 'workload', 'ours', 'limit (same run)', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.stage,
    r.workload,
    r.figure,
    r.limit,
    r.ratio,
    r.target,
    r.met ? 'yes' : 'no',
  ]);
  printTable(header, lines);
}
