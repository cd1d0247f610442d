/**
 * PostgreSQL catch-up benchmark: N rows written to the source before the pipeline starts, then timed through
 * each stage (WAL → Kafka, Kafka → replica), each next to a raw limit measured in the same run on the same
 * rows: pg_recvlogical draining the slot, kafkajs producing the same number of messages, and batched
 * multi-row INSERTs into the replica.
 */
import pg from 'pg';
import { PostgresConnector } from '../connectors/postgres/postgres-connector.ts';
import { ApplyWorker } from '../services/apply/apply-worker.ts';
import { PostgresSink } from '../services/apply/postgres/postgres-sink.ts';
import type { Logger } from '../services/common/logger.ts';
import { ChangeConsumer } from '../services/kafka/consumer.ts';
import { DeadLetterPublisher } from '../services/kafka/dead-letter.ts';
import { ChangePublisher } from '../services/kafka/publisher.ts';
import { measure, type StageResult } from './measure.ts';
import { produceRaw } from './raw-kafka.ts';
import { drainWithPgRecvlogical } from './raw-limits.ts';
import type { BenchEnv } from './env.ts';

const TABLE_SQL = `CREATE TABLE bench_rows (
  id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12,2) NOT NULL,
  note text, flag boolean NOT NULL, created timestamptz(6) NOT NULL)`;

export async function benchPostgres(env: BenchEnv, rows: number, logger: Logger): Promise<StageResult[]> {
  const source = await env.createPgDatabase('bench_src');
  const replica = await env.createPgDatabase('bench_dst');
  const prefix = `bench-${source.name.slice(-6)}`;
  const slot = `${source.name}_slot`;
  const rawSlot = `${source.name}_raw`;
  const results: StageResult[] = [];
  try {
    await source.query(TABLE_SQL);
    await source.query(`CREATE PUBLICATION bench_pub FOR TABLE bench_rows`);
    // Both slots exist before the rows are written, so every row is in their stream: a catch-up.
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [rawSlot]);
    const perTransaction = 10_000;
    for (let start = 1; start <= rows; start += perTransaction) {
      const end = Math.min(rows, start + perTransaction - 1);
      await source.query(
        `INSERT INTO bench_rows SELECT g, g % 1000, (g % 100000) / 100.0, 'note ' || g, g % 2 = 0,
           '2024-01-01'::timestamptz + g * interval '1 microsecond' FROM generate_series($1::bigint, $2::bigint) g`,
        [start, end],
      );
    }
    const endLsn = String(
      (await source.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0]?.lsn,
    );

    const rawDrain = await drainWithPgRecvlogical({
      url: source.url,
      slot: rawSlot,
      publication: 'bench_pub',
      endLsn,
    });
    const rawProduce = await produceRaw(env.brokers, `${prefix}.raw`, rows, 120);

    const connector = new PostgresConnector(
      {
        name: 'bench',
        url: source.url,
        publication: 'bench_pub',
        slot,
        tables: ['public.bench_rows'],
        createPublication: false,
        snapshot: 'never',
        snapshotChunkRows: 10_000,
        heartbeatIntervalMs: 1_000,
        maxTransactionEvents: 100_000,
      },
      logger,
    );
    const publisher = new ChangePublisher({ brokers: env.brokers, prefix, connector: 'bench', logger });
    const capture = await measure('PostgreSQL → Kafka (capture)', rows, (signal) => {
      const running = publisher.run(connector, signal);
      return { running, done: () => publisher.status().eventsPublished >= rows };
    });
    results.push({ ...capture, rawName: 'pg_recvlogical drain (pgoutput)', rawSeconds: rawDrain });
    results.push({
      ...capture,
      stage: 'PostgreSQL → Kafka (capture)',
      rawName: 'kafkajs produce, same count',
      rawSeconds: rawProduce,
    });

    const sink = new PostgresSink({ url: replica.url, logger });
    const worker = new ApplyWorker({
      stream: 'bench',
      feed: new ChangeConsumer({
        brokers: env.brokers,
        groupId: `${prefix}.apply`,
        topics: [publisher.topics.changelog],
        prefix,
        logger,
      }),
      sink,
      deadLetters: new DeadLetterPublisher({ brokers: env.brokers, prefix, connector: 'bench', logger }),
      onError: 'stop',
      batch: { maxEvents: 5_000 },
      logger,
    });
    const apply = await measure('Kafka → PostgreSQL replica (apply)', rows, (signal) => {
      const running = worker.run(signal);
      return { running, done: () => worker.status().eventsApplied >= rows };
    });
    await sink.close();
    const count = (await replica.query<{ n: string }>(`SELECT count(*)::text AS n FROM bench_rows`)).rows[0]
      ?.n;
    if (Number(count) !== rows) throw new Error(`replica holds ${count} rows, expected ${rows}`);
    const rawInsert = await insertRaw(replica.url, rows);
    results.push({ ...apply, rawName: 'batched INSERT into replica', rawSeconds: rawInsert });
    return results;
  } finally {
    await source
      .query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($1, $2) AND NOT active`,
        [slot, rawSlot],
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'slot cleanup failed'));
    await source.drop();
    await replica.drop();
  }
}

/** The replica's raw write rate: the same rows through 5,000-row INSERT … SELECT FROM unnest(...). */
async function insertRaw(url: string, rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE raw_rows (LIKE bench_rows INCLUDING ALL)`);
    const started = performance.now();
    for (let start = 1; start <= rows; start += 5_000) {
      const ids: string[] = [];
      for (let id = start; id < start + 5_000 && id <= rows; id++) ids.push(String(id));
      await client.query(
        `INSERT INTO raw_rows SELECT id, id % 1000, (id % 100000) / 100.0, 'note ' || id, id % 2 = 0, now() FROM unnest($1::bigint[]) AS id`,
        [ids],
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}
