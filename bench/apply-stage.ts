/**
 * The apply stage of a benchmark: an apply worker consuming a changelog topic into a fresh replica, timed until
 * every row is applied, then checked by counting the replica's rows.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { ApplyWorker } from '../services/apply/apply-worker.ts';
import { MysqlSink } from '../services/apply/mysql/mysql-sink.ts';
import { PostgresSink } from '../services/apply/postgres/postgres-sink.ts';
import type { Sink } from '../services/apply/sink.ts';
import type { EventFeed } from '../services/apply/event-feed.ts';
import type { Logger } from '../common/logger.ts';
import type { ConflictSettings } from '../services/apply/conflicts/types.ts';
import { ChangeConsumer } from '../services/kafka/consumer.ts';
import { DeadLetterPublisher } from '../services/kafka/dead-letter.ts';
import type { TestDatabase } from '../test/support/pg.ts';
import { measure, type StageResult } from './measure.ts';

/** Where a bench applies to: its sink, and how to count the replicated table's rows afterwards. */
export interface ApplyTarget {
  sink(logger: Logger): Sink;
  countRows(): Promise<number>;
  /** Consumer group suffix, so two targets of one changelog each read it whole. */
  readonly group: string;
}

export function postgresTarget(
  replica: Pick<TestDatabase, 'url'>,
  /** Qualified name of the replicated table on the replica. */
  table: string,
  /** Conflict handling on the sink, as on a pair or mesh link. */
  conflicts?: ConflictSettings,
): ApplyTarget {
  return {
    sink: (logger) => new PostgresSink({ url: replica.url, logger, ...(conflicts ? { conflicts } : {}) }),
    async countRows() {
      const client = new pg.Client({ connectionString: replica.url });
      await client.connect();
      try {
        const counted = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
        return Number(counted.rows[0]?.n);
      } finally {
        await client.end();
      }
    },
    group: conflicts ? 'apply-conflicts' : 'apply',
  };
}

/** A MariaDB replica whose database `database` (which must exist) receives every replicated table. */
export function mariadbTarget(url: string, database: string, table: string): ApplyTarget {
  return {
    sink: (logger) => new MysqlSink({ url, flavor: 'mariadb', targetDatabase: database, logger }),
    async countRows() {
      const connection = await mysql.createConnection(url);
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          `SELECT count(*) AS n FROM \`${database}\`.\`${table}\``,
        );
        return Number(rows[0]?.n);
      } finally {
        await connection.end();
      }
    },
    group: `apply-${database}`,
  };
}

export async function applyStage(options: {
  readonly stage: string;
  readonly brokers: readonly string[];
  readonly prefix: string;
  readonly connector: string;
  readonly changelog: string;
  readonly target: ApplyTarget;
  /** Events to apply. */
  readonly rows: number;
  /** Rows the replica's table holds once they are applied (default: `rows`, one insert each). */
  readonly tableRows?: number;
  readonly logger: Logger;
  /** Wraps the feed the worker reads (bench/apply-rounds.ts times the handler through it). */
  readonly wrapFeed?: (feed: EventFeed) => EventFeed;
}): Promise<StageResult> {
  const { brokers, prefix, rows, logger, target } = options;
  const sink = target.sink(logger);
  const deadLetters = new DeadLetterPublisher({ brokers, prefix, connector: options.connector, logger });
  const worker = new ApplyWorker({
    // Unique per run and target: a MariaDB server keeps the applied positions of all its databases in one table.
    stream: `${prefix}.${target.group}`,
    feed: (options.wrapFeed ?? ((feed: EventFeed) => feed))(
      new ChangeConsumer({
        brokers,
        groupId: `${prefix}.${target.group}`,
        topics: [options.changelog],
        prefix,
        logger,
      }),
    ),
    sink,
    deadLetters,
    onError: 'stop',
    batch: { maxEvents: 5_000 },
    logger,
  });
  try {
    const result = await measure(options.stage, rows, (signal) => ({
      running: worker.run(signal),
      events: () => worker.status().eventsApplied,
    }));
    const counted = await target.countRows();
    const expected = options.tableRows ?? rows;
    if (counted !== expected)
      throw new Error(`${options.stage}: replica holds ${counted} rows, expected ${expected}`);
    return result;
  } finally {
    await sink.close();
    await deadLetters.close();
  }
}
