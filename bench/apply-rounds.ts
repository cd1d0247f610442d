/**
 * `npm run bench:apply`: the apply stage alone, measured again and again on one changelog. BENCH_ROWS rows
 * (default 200,000) are written to a fresh PostgreSQL source, inserted and then, with BENCH_APPLY_UPDATES=1, each
 * updated once (10,000 to a source transaction), captured once into a changelog, then applied BENCH_ROUNDS times
 * (default 3) into fresh replicas: PostgreSQL, and MariaDB with BENCH_APPLY_TARGETS=postgres,mariadb. Each round
 * prints wall seconds from the first applied event to the last (the group join left out), rows/s, the process's
 * CPU time per event, and the event loop's utilization (1 - idle) over the round: on a shared machine CPU per
 * event and idleness move far less with the neighbours' load than wall time does.
 */
import { performance } from 'node:perf_hooks';
import { createLogger } from '../common/logger.ts';
import { benchEnv } from './env.ts';
import { applyStage, mariadbTarget, postgresTarget, type ApplyTarget } from './apply-stage.ts';
import { capturePostgres, createPostgresBenchTable, writePostgresRows } from './postgres-bench.ts';
import mysql from 'mysql2/promise';
import { printTable } from './table.ts';
import type { EventFeed } from '../services/apply/event-feed.ts';

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const updates = process.env.BENCH_APPLY_UPDATES === '1';
const targetNames = (process.env.BENCH_APPLY_TARGETS ?? 'postgres').split(',');
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });

const source = await benchEnv.createPgDatabase('bench_src');
const prefix = `bench-${source.name.slice(-6)}`;
const slot = `${source.name}_slot`;
const events = updates ? rows * 2 : rows;
const table: string[][] = [];
try {
  await createPostgresBenchTable(source);
  await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  await writePostgresRows(source, rows);
  if (updates)
    for (let start = 1; start <= rows; start += 10_000)
      await source.query(
        `UPDATE bench_rows SET amount = amount + 1, note = 'updated' WHERE id BETWEEN $1 AND $2`,
        [start, Math.min(rows, start + 9_999)],
      );
  const { changelog } = await capturePostgres(benchEnv, source, slot, prefix, events, logger);
  for (let round = 1; round <= rounds; round++) {
    for (const name of targetNames) {
      const replica = await targetFor(name, round);
      try {
        // Time inside the handler (applying), from its first call to its last return: the rest is waiting for
        // the feed (fetching, decoding, committing offsets).
        let busy = 0;
        let first: number | null = null;
        let lastEnd = 0;
        const wrapFeed = (feed: EventFeed): EventFeed => ({
          run: (handler, signal) =>
            feed.run(async (batch, control) => {
              const started = performance.now();
              first ??= started;
              try {
                return await handler(batch, control);
              } finally {
                lastEnd = performance.now();
                busy += lastEnd - started;
              }
            }, signal),
        });
        const cpu = process.cpuUsage();
        const loop = performance.eventLoopUtilization();
        const result = await applyStage({
          stage: name,
          brokers: benchEnv.brokers,
          prefix,
          connector: 'bench',
          changelog,
          target: replica.target,
          rows: events,
          tableRows: rows,
          logger,
          wrapFeed,
        });
        const used = process.cpuUsage(cpu);
        const utilization = performance.eventLoopUtilization(loop).utilization;
        const seconds = result.seconds - result.firstEventSeconds;
        table.push([
          String(round),
          name,
          events.toLocaleString('en-US'),
          seconds.toFixed(2),
          Math.round(events / seconds).toLocaleString('en-US'),
          ((used.user + used.system) / events).toFixed(1),
          `${(utilization * 100).toFixed(0)}%`,
          `${((busy / (lastEnd - (first ?? lastEnd) || 1)) * 100).toFixed(0)}%`,
        ]);
        console.log(table.at(-1)!.join('  '));
      } finally {
        await replica.drop();
      }
    }
  }
  console.log(`\nApply of ${events.toLocaleString('en-US')} events${updates ? ' (half updates)' : ''}:\n`);
  printTable(
    ['round', 'target', 'events', 'seconds', 'events/s', 'CPU µs/event', 'loop busy', 'handler busy'],
    table,
  );
} finally {
  await source
    .query(`SELECT pg_drop_replication_slot($1)`, [slot])
    .catch((error: unknown) => logger.warn({ err: error }, 'slot cleanup failed'));
  await source.drop();
}

async function targetFor(
  name: string,
  round: number,
): Promise<{ target: ApplyTarget; drop: () => Promise<void> }> {
  if (name === 'postgres') {
    const replica = await benchEnv.createPgDatabase('bench_dst');
    // A group of its own each round: the last round's group has committed the whole changelog.
    const target = { ...postgresTarget(replica, 'bench_rows'), group: `apply-${round}` };
    return { target, drop: () => replica.drop() };
  }
  const database = `bench_apply_${process.pid}_${round}`;
  const admin = async (text: string): Promise<void> => {
    const connection = await mysql.createConnection(benchEnv.mariadbUrl);
    try {
      await connection.query(text);
    } finally {
      await connection.end();
    }
  };
  await admin(`CREATE DATABASE \`${database}\``);
  return {
    target: mariadbTarget(benchEnv.mariadbUrl, database, 'bench_rows'),
    drop: () => admin(`DROP DATABASE IF EXISTS \`${database}\``),
  };
}
