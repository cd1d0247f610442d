/**
 * One large source transaction (BENCH_LARGE_ROWS rows, default 1,000,000, in a single INSERT) through capture
 * and then apply, each in a Node process of its own so that its peak RSS is its own: the figure the memory
 * target is about. Capture publishes a transaction larger than `maxTransactionEvents` in pieces, and apply
 * writes a transaction larger than a fetch in pieces, so neither should hold the whole transaction.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger } from '../common/logger.ts';
import { answerIfChild, runApart } from './apart.ts';
import { applyStage, postgresTarget } from './apply-stage.ts';
import type { BenchEnv } from './env.ts';
import { benchEnv } from './env.ts';
import type { StageResult } from './measure.ts';
import { targets } from './targets.ts';
import { BENCH_PUBLICATION, capturePostgres, createPostgresBenchTable } from './postgres-bench.ts';
import type { Logger } from '../common/logger.ts';

type Part =
  | {
      readonly kind: 'capture';
      readonly url: string;
      readonly slot: string;
      readonly prefix: string;
      readonly rows: number;
    }
  | {
      readonly kind: 'apply';
      readonly url: string;
      readonly prefix: string;
      readonly changelog: string;
      readonly rows: number;
    };

interface PartResult {
  readonly result: StageResult;
  readonly changelog: string;
}

const PART_VARIABLE = 'BENCH_LARGE_PART';

async function runPart(part: Part): Promise<PartResult> {
  const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });
  if (part.kind === 'capture') {
    const { capture, changelog } = await capturePostgres(
      benchEnv,
      part,
      part.slot,
      part.prefix,
      part.rows,
      logger,
      {
        stage: 'PostgreSQL → Kafka (capture), one large transaction',
      },
    );
    return { result: capture, changelog };
  }
  const pool = new pg.Pool({ connectionString: part.url, max: 1 });
  try {
    const result = await applyStage({
      stage: 'Kafka → PostgreSQL replica (apply), one large transaction',
      brokers: benchEnv.brokers,
      prefix: part.prefix,
      connector: 'bench',
      changelog: part.changelog,
      target: postgresTarget(
        { url: part.url, query: (sql, params) => pool.query(sql, params as unknown[]) },
        'bench_rows',
      ),
      rows: part.rows,
      logger,
    });
    return { result, changelog: part.changelog };
  } finally {
    await pool.end();
  }
}

export async function benchLargeTransaction(
  env: BenchEnv,
  rows: number,
  logger: Logger,
): Promise<StageResult[]> {
  const source = await env.createPgDatabase('large_src');
  const replica = await env.createPgDatabase('large_dst');
  const prefix = `large-${source.name.slice(-6)}`;
  const slot = `${source.name}_slot`;
  const script = fileURLToPath(import.meta.url);
  try {
    await createPostgresBenchTable(source);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await source.query(
      `INSERT INTO bench_rows SELECT g, g % 1000, (g % 100000) / 100.0, 'note ' || g, g % 2 = 0,
         '2024-01-01'::timestamptz + g * interval '1 microsecond' FROM generate_series(1, $1::bigint) g`,
      [rows],
    );
    logger.debug({ rows, publication: BENCH_PUBLICATION }, 'large transaction written');
    const capture = await runApart<Part, PartResult>(script, PART_VARIABLE, {
      kind: 'capture',
      url: source.url,
      slot,
      prefix,
      rows,
    });
    const apply = await runApart<Part, PartResult>(script, PART_VARIABLE, {
      kind: 'apply',
      url: replica.url,
      prefix,
      changelog: capture.changelog,
      rows,
    });
    return [
      { ...capture.result, target: targets.memoryOnly },
      { ...apply.result, target: targets.memoryOnly },
    ];
  } finally {
    await source.drop();
    await replica.drop();
  }
}

await answerIfChild(PART_VARIABLE, runPart);
