/**
 * The apply stage of a benchmark: an apply worker consuming a changelog topic into a fresh PostgreSQL replica,
 * timed until every row is applied, then checked by counting the replica's rows.
 */
import { ApplyWorker } from '../services/apply/apply-worker.ts';
import { PostgresSink } from '../services/apply/postgres/postgres-sink.ts';
import type { Logger } from '../common/logger.ts';
import type { ConflictSettings } from '../services/apply/conflicts/types.ts';
import { ChangeConsumer } from '../services/kafka/consumer.ts';
import { DeadLetterPublisher } from '../services/kafka/dead-letter.ts';
import type { TestDatabase } from '../test/support/pg.ts';
import { measure, type StageResult } from './measure.ts';

export async function applyStage(options: {
  readonly stage: string;
  readonly brokers: readonly string[];
  readonly prefix: string;
  readonly connector: string;
  readonly changelog: string;
  readonly replica: TestDatabase;
  /** Qualified name of the replicated table, to count its rows afterwards. */
  readonly table: string;
  readonly rows: number;
  readonly logger: Logger;
  /** Conflict handling on the sink, as on a pair or mesh link; the consumer group is then a second one. */
  readonly conflicts?: ConflictSettings;
}): Promise<StageResult> {
  const { brokers, prefix, rows, logger } = options;
  const sink = new PostgresSink({
    url: options.replica.url,
    logger,
    ...(options.conflicts ? { conflicts: options.conflicts } : {}),
  });
  const deadLetters = new DeadLetterPublisher({ brokers, prefix, connector: options.connector, logger });
  const worker = new ApplyWorker({
    stream: options.connector,
    feed: new ChangeConsumer({
      brokers,
      groupId: options.conflicts ? `${prefix}.apply-conflicts` : `${prefix}.apply`,
      topics: [options.changelog],
      prefix,
      logger,
    }),
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
    const counted = await options.replica.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${options.table}`,
    );
    if (Number(counted.rows[0]?.n) !== rows)
      throw new Error(`${options.stage}: replica holds ${counted.rows[0]?.n} rows, expected ${rows}`);
    return result;
  } finally {
    await sink.close();
    await deadLetters.close();
  }
}
