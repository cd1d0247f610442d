/**
 * One large source transaction (BENCH_LARGE_ROWS rows, default 1,000,000, in a single INSERT) through capture
 * and then apply, each in a Node process of its own so that its peak RSS is its own: the figure the memory
 * target is about. Capture publishes a transaction larger than `maxTransactionEvents` in pieces, and apply
 * writes a transaction larger than a fetch in pieces, so neither should hold the whole transaction.
 */
import type { BenchEnv } from './env.ts';
import type { StageResult } from './measure.ts';
import { targets } from './targets.ts';
import { BENCH_PUBLICATION, createPostgresBenchTable } from './postgres-bench.ts';
import type { Logger } from '../common/logger.ts';
import { applyApart, captureApart } from './stages-apart.ts';

export async function benchLargeTransaction(
  env: BenchEnv,
  rows: number,
  logger: Logger,
): Promise<StageResult[]> {
  const source = await env.createPgDatabase('large_src');
  const replica = await env.createPgDatabase('large_dst');
  const prefix = `large-${source.name.slice(-6)}`;
  const slot = `${source.name}_slot`;
  try {
    await createPostgresBenchTable(source);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await source.query(
      `INSERT INTO bench_rows SELECT g, g % 1000, (g % 100000) / 100.0, 'note ' || g, g % 2 = 0,
         '2024-01-01'::timestamptz + g * interval '1 microsecond' FROM generate_series(1, $1::bigint) g`,
      [rows],
    );
    logger.debug({ rows, publication: BENCH_PUBLICATION }, 'large transaction written');
    const capture = await captureApart({
      kind: 'postgres-capture',
      url: source.url,
      slot,
      prefix,
      rows,
      stage: 'PostgreSQL → Kafka (capture), one large transaction',
    });
    const apply = await applyApart({
      kind: 'apply',
      stage: 'Kafka → PostgreSQL replica (apply), one large transaction',
      prefix,
      changelog: capture.changelog,
      target: { kind: 'postgres', url: replica.url, table: 'bench_rows' },
      rows,
    });
    return [
      { ...capture.capture, target: targets.memoryOnly },
      { ...apply, target: targets.memoryOnly },
    ];
  } finally {
    await source.drop();
    await replica.drop();
  }
}
