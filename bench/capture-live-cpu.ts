/**
 * CPU per row of our PostgreSQL capture against the local stack: BENCH_ROWS (default 200,000) rows written to the
 * bench table before capture starts, then captured to Kafka while the process's CPU time is counted. Prints the
 * CPU µs per row (user + system, this process only: garbage collection included) and rows/s.
 */
import { createLogger } from '../common/logger.ts';
import { benchEnv } from './env.ts';
import { capturePostgres, createPostgresBenchTable, writePostgresRows } from './postgres-bench.ts';

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });
const source = await benchEnv.createPgDatabase('bench_cpu');
const slot = `${source.name}_slot`;
try {
  await createPostgresBenchTable(source);
  await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  await writePostgresRows(source, rows);
  const started = process.cpuUsage();
  const { capture } = await capturePostgres(
    benchEnv,
    source,
    slot,
    `bench-${source.name.slice(-6)}`,
    rows,
    logger,
  );
  const used = process.cpuUsage(started);
  const perRow = (used.user + used.system) / rows;
  console.log(
    `capture ${rows} rows: ${perRow.toFixed(2)} CPU µs/row, ${Math.round(rows / capture.seconds)} rows/s, ${capture.seconds.toFixed(1)} s`,
  );
} finally {
  await source.query(`SELECT pg_drop_replication_slot($1)`, [slot]).catch(() => undefined);
  await source.drop();
}
process.exit(0);
