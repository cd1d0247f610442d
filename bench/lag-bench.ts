/**
 * Commit → replica lag under a steady writer: rows are written at a fixed rate into a PostgreSQL source while
 * the whole pipeline runs, and each row's lag is its replica commit time minus its source commit time. Both
 * are PostgreSQL's own commit timestamps (`track_commit_timestamp`), read afterwards by row, and both databases
 * live in one server, so one clock measures both ends and the measurement itself adds nothing to the path.
 * A row is visible on the replica right after its commit (one WAL flush later).
 */
import pg from 'pg';
import type { Logger } from '../common/logger.ts';
import { waitFor } from '../test/support/wait.ts';
import type { BenchEnv } from './env.ts';
import { startLivePipeline } from './live-pipeline.ts';
import { percentile } from './measure.ts';

export interface LagWorkload {
  /** Rows per second the writer aims at, spread over its connections. */
  readonly rowsPerSecond: number;
  readonly rowsPerTransaction: number;
  readonly seconds: number;
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
      written = await writeSteadily(source.url, workload);
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
    for (const [id, sourceMicros] of committed) {
      if (id === '0') continue;
      const replicaMicros = applied.get(id);
      if (replicaMicros === undefined) throw new Error(`row ${id} is missing on the replica`);
      lags.push(Number(replicaMicros - sourceMicros) / 1000);
    }
    lags.sort((a, b) => a - b);
    return {
      workload,
      achievedRowsPerSecond: written.rows / written.seconds,
      rows: lags.length,
      p50Millis: percentile(lags, 0.5),
      p99Millis: percentile(lags, 0.99),
      maxMillis: lags.at(-1) ?? 0,
    };
  } finally {
    await source.drop();
    await replica.drop();
  }
}

/**
 * Each writer commits its transactions on a fixed schedule (transaction n at start + n × interval); one that
 * falls behind goes on at once rather than skipping, so the rate achieved says whether the machine kept up.
 */
async function writeSteadily(url: string, workload: LagWorkload): Promise<{ rows: number; seconds: number }> {
  const perWriter = workload.rowsPerSecond / workload.writers;
  const intervalMs = (workload.rowsPerTransaction / perWriter) * 1000;
  const transactions = Math.max(1, Math.round((workload.seconds * 1000) / intervalMs));
  const started = performance.now();
  let nextId = 1;
  const writer = async (index: number): Promise<number> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // Writers start spread over one interval, so their commits interleave instead of arriving together.
      const offset = (intervalMs * index) / workload.writers;
      for (let n = 0; n < transactions; n++) {
        const due = started + offset + n * intervalMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const first = nextId;
        nextId += workload.rowsPerTransaction;
        await client.query(
          `INSERT INTO lag_rows SELECT g, $3, 'row ' || g FROM generate_series($1::bigint, $2::bigint) g`,
          [first, first + workload.rowsPerTransaction - 1, index],
        );
      }
      return transactions * workload.rowsPerTransaction;
    } finally {
      await client.end();
    }
  };
  const counts = await Promise.all(Array.from({ length: workload.writers }, (_, i) => writer(i)));
  return { rows: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000 };
}

async function commitTimes(result: Promise<pg.QueryResult<{ id: string; micros: string }>>) {
  return new Map((await result).rows.map((row) => [row.id, BigInt(row.micros)]));
}
