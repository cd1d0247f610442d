/**
 * The steady writer of the lag benchmark (bench/lag-bench.ts), on a worker thread of its own so that its
 * socket writes do not share the event loop of the pipeline being measured. Posts `{ rows, seconds }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { LagWorkload } from './lag-bench.ts';

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

const { url, workload } = workerData as { url: string; workload: LagWorkload };
parentPort?.postMessage(await writeSteadily(url, workload));
