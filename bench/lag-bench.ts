/**
 * Commit → replica lag under a steady writer: rows are written at a fixed rate into a PostgreSQL source while
 * the whole pipeline runs, and each row's lag is its replica commit time minus its source commit time. Both
 * are PostgreSQL's own commit timestamps (`track_commit_timestamp`), read afterwards by row, and both databases
 * live in one server, so one clock measures both ends and the measurement itself adds nothing to the path.
 * A row is visible on the replica right after its commit (one WAL flush later).
 */
import type pg from 'pg';
import type { Logger } from '../common/logger.ts';
import { waitFor } from '../test/support/wait.ts';
import type { BenchEnv } from './env.ts';
import { startLivePipeline } from './live-pipeline.ts';
import { percentile } from './measure.ts';
import { Worker } from 'node:worker_threads';

export interface LagWorkload {
  /** Rows per second the writer aims at, spread over its connections. */
  readonly rowsPerSecond: number;
  readonly rowsPerTransaction: number;
  readonly seconds: number;
  /**
   * Seconds written first at the same rate and left out of the figures (reported apart): the first second of
   * a freshly started pipeline, its code not yet optimised by the JIT, lags by a few hundred ms.
   */
  readonly warmUpSeconds: number;
  /** Writer connections, each committing its share on its own schedule. */
  readonly writers: number;
}

export interface LagResult {
  readonly workload: LagWorkload;
  /** Rows per second the writer actually committed. */
  readonly achievedRowsPerSecond: number;
  readonly rows: number;
  readonly p50Millis: number;
  readonly p99Millis: number;
  readonly maxMillis: number;
  /** The largest lag of the warm-up's rows. */
  readonly warmUpMaxMillis: number;
}

const TABLE_SQL = `CREATE TABLE lag_rows (id bigint PRIMARY KEY, writer integer NOT NULL, note text NOT NULL)`;
/** Commit time of each row's transaction, in microseconds since the epoch. */
const COMMIT_TIMES_SQL = `SELECT id::text AS id,
  (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text AS micros FROM lag_rows`;

export async function benchLag(env: BenchEnv, workload: LagWorkload, logger: Logger): Promise<LagResult> {
  const source = await env.createPgDatabase('bench_lag_src');
  const replica = await env.createPgDatabase('bench_lag_dst');
  try {
    await source.query(TABLE_SQL);
    const pipeline = await startLivePipeline({ brokers: env.brokers, source, replica, logger });
    let written: { rows: number; seconds: number };
    try {
      // The first row creates the replica's table; rows from id 1 on are the measured ones.
      await source.query(`INSERT INTO lag_rows VALUES (0, 0, 'warm-up')`);
      await waitFor('the warm-up row on the replica', () => pipeline.applied() >= 1, { timeoutMs: 60_000 });
      written = await writeInWorker(source.url, {
        ...workload,
        seconds: workload.seconds + workload.warmUpSeconds,
      });
      const expected = written.rows + 1;
      await waitFor('every written row on the replica', () => pipeline.applied() >= expected, {
        timeoutMs: 600_000,
        intervalMs: 50,
      });
    } finally {
      await pipeline.stop();
    }
    const committed = await commitTimes(source.query(COMMIT_TIMES_SQL));
    const applied = await commitTimes(replica.query(COMMIT_TIMES_SQL));
    const lags: number[] = [];
    let warmUpMaxMillis = 0;
    // Ids are handed out in the order of the writers' schedule, so the warm-up's rows are the lowest ones.
    const warmUpRows = Math.round(workload.warmUpSeconds * workload.rowsPerSecond);
    for (const [id, sourceMicros] of committed) {
      if (id === '0') continue;
      const replicaMicros = applied.get(id);
      if (replicaMicros === undefined) throw new Error(`row ${id} is missing on the replica`);
      const lag = Number(replicaMicros - sourceMicros) / 1000;
      if (Number(id) <= warmUpRows) warmUpMaxMillis = Math.max(warmUpMaxMillis, lag);
      else lags.push(lag);
    }
    lags.sort((a, b) => a - b);
    return {
      workload,
      achievedRowsPerSecond: written.rows / written.seconds,
      rows: lags.length,
      p50Millis: percentile(lags, 0.5),
      p99Millis: percentile(lags, 0.99),
      maxMillis: lags.at(-1) ?? 0,
      warmUpMaxMillis,
    };
  } finally {
    await source.drop();
    await replica.drop();
  }
}

async function commitTimes(result: Promise<pg.QueryResult<{ id: string; micros: string }>>) {
  return new Map((await result).rows.map((row) => [row.id, BigInt(row.micros)]));
}

/**
 * The writer runs on a thread of its own: in this thread its socket writes to PostgreSQL took about a seventh
 * of the event loop the measured pipeline runs on, and delayed it.
 */
function writeInWorker(url: string, workload: LagWorkload): Promise<{ rows: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./lag-writer.ts', import.meta.url), { workerData: { url, workload } });
    let result: { rows: number; seconds: number } | null = null;
    worker.once('message', (message: { rows: number; seconds: number }) => (result = message));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      result !== null ? resolve(result) : reject(new Error(`the lag writer thread exited with ${code}`)),
    );
  });
}
