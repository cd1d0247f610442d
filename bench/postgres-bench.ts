/**
 * PostgreSQL catch-up benchmark: N rows written to the source before the pipeline starts, then timed through
 * each stage (WAL → Kafka, Kafka → replica), each next to a raw limit measured in the same run on the same
 * rows: pg_recvlogical draining the slot, kafkajs producing the same number of messages, and batched
 * multi-row INSERTs into the replica.
 */
import { PostgresConnector } from '../connectors/postgres/postgres-connector.ts';
import type { Logger } from '../common/logger.ts';
import { ChangePublisher } from '../services/kafka/publisher.ts';
import { measure, type CaptureOutcome, type StageResult } from './measure.ts';
import { produceRaw } from './raw-kafka.ts';
import { copyOut, drainWithPgRecvlogical, insertRaw } from './raw-limits.ts';
import { applyApart, captureApart } from './stages-apart.ts';
import type { BenchEnv } from './env.ts';
import { targets } from './targets.ts';
import type { TestDatabase } from '../test/support/pg.ts';

/** Name of the publication holding the bench table, for every reader of the rows. */
export const BENCH_PUBLICATION = 'bench_pub';

/** The bench table, `public.bench_rows`, and its publication. */
export async function createPostgresBenchTable(source: TestDatabase): Promise<void> {
  await source.query(`CREATE TABLE bench_rows (
    id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12,2) NOT NULL,
    note text, flag boolean NOT NULL, created timestamptz(6) NOT NULL)`);
  await source.query(`CREATE PUBLICATION ${BENCH_PUBLICATION} FOR TABLE bench_rows`);
}

/** Writes `rows` narrow rows into the bench table, 10,000 to a transaction. */
export async function writePostgresRows(source: TestDatabase, rows: number): Promise<void> {
  const perTransaction = 10_000;
  for (let start = 1; start <= rows; start += perTransaction) {
    const end = Math.min(rows, start + perTransaction - 1);
    await source.query(
      `INSERT INTO bench_rows SELECT g, g % 1000, (g % 100000) / 100.0, 'note ' || g, g % 2 = 0,
         '2024-01-01'::timestamptz + g * interval '1 microsecond' FROM generate_series($1::bigint, $2::bigint) g`,
      [start, end],
    );
  }
}

/** Times our capture (WAL → Kafka) of the rows already in `slot`'s stream; returns it and its changelog topic. */
export async function capturePostgres(
  env: BenchEnv,
  source: Pick<TestDatabase, 'url'>,
  slot: string,
  prefix: string,
  rows: number,
  logger: Logger,
  options: {
    /** Another publication and its tables than the bench table's (bench/scale.ts). */
    readonly published?: { readonly publication: string; readonly tables: readonly string[] };
    /** 'initial' reads the tables' rows first, as a new pipeline does (the slot must not exist yet). */
    readonly snapshot?: 'initial' | 'never';
    readonly stage?: string;
  } = {},
): Promise<CaptureOutcome> {
  const published = options.published ?? { publication: BENCH_PUBLICATION, tables: ['public.bench_rows'] };
  const connector = new PostgresConnector(
    {
      name: 'bench',
      url: source.url,
      publication: published.publication,
      slot,
      tables: [...published.tables],
      createPublication: false,
      snapshot: options.snapshot ?? 'never',
      snapshotChunkRows: 10_000,
      heartbeatIntervalMs: 1_000,
      maxTransactionEvents: 10_000, // the configuration's default (sources[].maxTransactionEvents)
    },
    logger,
  );
  const publisher = new ChangePublisher({ brokers: env.brokers, prefix, connector: 'bench', logger });
  const capture = await measure(options.stage ?? 'PostgreSQL → Kafka (capture)', rows, (signal) => {
    const running = publisher.run(connector, signal);
    return { running, events: () => publisher.status().eventsPublished };
  });
  return { capture, changelog: publisher.topics.changelog, transactions: publisher.status().transactions };
}

export async function benchPostgres(env: BenchEnv, rows: number, logger: Logger): Promise<StageResult[]> {
  const source = await env.createPgDatabase('bench_src');
  const replica = await env.createPgDatabase('bench_dst');
  const checked = await env.createPgDatabase('bench_chk');
  const prefix = `bench-${source.name.slice(-6)}`;
  const slot = `${source.name}_slot`;
  const rawSlot = `${source.name}_raw`;
  const slots = [slot, rawSlot];
  const results: StageResult[] = [];
  try {
    await createPostgresBenchTable(source);
    // Both slots exist before the rows are written, so every row is in their stream: a catch-up.
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [rawSlot]);
    await writePostgresRows(source, rows);
    const endLsn = String(
      (await source.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0]?.lsn,
    );

    const rawDrain = await drainWithPgRecvlogical({
      url: source.url,
      slot: rawSlot,
      publication: BENCH_PUBLICATION,
      endLsn,
    });
    const rawProduce = await produceRaw(env.brokers, `${prefix}.raw`, rows, 120);

    const { capture, changelog } = await captureApart({
      kind: 'postgres-capture',
      url: source.url,
      slot,
      prefix,
      rows,
    });
    results.push({
      ...capture,
      rawName: 'pg_recvlogical drain (pgoutput)',
      rawSeconds: rawDrain,
      target: targets.postgresCapture,
    });
    results.push({
      ...capture,
      stage: 'PostgreSQL → Kafka (capture)',
      rawName: 'kafkajs produce (as services/kafka loads it), same count',
      rawSeconds: rawProduce,
    });

    // The initial snapshot of the same rows, as a new pipeline on an existing table reads them.
    const snapshotSlot = `${source.name}_snap`;
    slots.push(snapshotSlot);
    const rawCopy = await copyOut(source.url, 'bench_rows');
    const { capture: snapshot } = await captureApart({
      kind: 'postgres-capture',
      url: source.url,
      slot: snapshotSlot,
      prefix: `${prefix}-snap`,
      rows,
      snapshot: 'initial',
      stage: 'PostgreSQL → Kafka (initial snapshot)',
    });
    results.push({
      ...snapshot,
      rawName: 'COPY TO STDOUT (psql)',
      rawSeconds: rawCopy,
      target: targets.snapshot,
    });

    if (env.captureOnly) return results;
    const apply = await applyApart({
      kind: 'apply',
      stage: 'Kafka → PostgreSQL replica (apply)',
      prefix,
      changelog,
      target: { kind: 'postgres', url: replica.url, table: 'bench_rows' },
      rows,
    });
    const rawInsert = await insertRaw(replica.url, rows);
    results.push({
      ...apply,
      rawName: 'batched INSERT into replica',
      rawSeconds: rawInsert,
      target: targets.apply,
    });
    // The same events through a sink with conflict handling, as on a pair or mesh link: a target transaction per
    // source transaction, and its inserts checked for an existing row or a tombstone as they go out together.
    const withConflicts = await applyApart({
      kind: 'apply',
      stage: 'Kafka → PostgreSQL replica (apply, conflict checks on)',
      prefix,
      changelog,
      target: {
        kind: 'postgres',
        url: checked.url,
        table: 'bench_rows',
        conflicts: {
          localNode: 'bench_chk',
          defaults: { policy: 'last-writer-wins', columns: {} },
          tables: {},
          originPriority: [],
          tombstoneRetentionMillis: 7 * 86_400_000,
        },
      },
      rows,
    });
    results.push({
      ...withConflicts,
      rawName: 'same events, conflict checks off',
      rawSeconds: apply.seconds,
    });
    return results;
  } finally {
    await source
      .query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1) AND NOT active`,
        [slots],
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'slot cleanup failed'));
    await source.drop();
    await replica.drop();
    await checked.drop();
  }
}
