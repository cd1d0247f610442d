/**
 * PostgreSQL side by side: the bench's pre-written rows captured by us and by Debezium Server in each of its
 * configurations, every reader from its own replication slot made before the rows were written.
 */
import type { Logger } from '../../common/logger.ts';
import { createKafka } from '../../services/kafka/client.ts';
import { connectorTopics } from '../../services/kafka/topics.ts';
import type { BenchEnv } from '../env.ts';
import {
  BENCH_PUBLICATION,
  capturePostgres,
  createPostgresBenchTable,
  writePostgresRows,
} from '../postgres-bench.ts';
import { postgresSettings } from './debezium-settings.ts';
import {
  deleteTopics,
  measureRuns,
  prepareRuns,
  removeRun,
  type PeerComparison,
  type PeerRun,
} from './peer-runs.ts';

export async function peerPostgres(env: BenchEnv, rows: number, logger: Logger): Promise<PeerComparison> {
  const source = await env.createPgDatabase('peer_src');
  const prefix = `peer-${source.name.slice(-6)}`;
  const kafka = createKafka({ brokers: env.brokers, clientId: 'bench-peer', logger });
  const admin = kafka.admin();
  await admin.connect();
  let runs: PeerRun[] = [];
  try {
    await createPostgresBenchTable(source);
    const slot = (reader: string) => `${source.name}_${reader}`;
    runs = await prepareRuns({
      kafka,
      brokers: env.brokers,
      prefix,
      logger,
      topics: (topicPrefix) => ({ rows: `${topicPrefix}.public.bench_rows`, others: [] }),
      sourceSettings: (index) =>
        postgresSettings(source.url, slot(`dbz${index}`), BENCH_PUBLICATION, 'public.bench_rows'),
    });
    // Every slot exists before the rows are written, so every reader has all of them to catch up with.
    for (const name of [slot('ours'), ...runs.map((_run, index) => slot(`dbz${index}`))])
      await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
    await writePostgresRows(source, rows);

    const ours = await capturePostgres(env, source, slot('ours'), prefix, rows, logger);
    const theirs = await measureRuns(runs, admin, 'PostgreSQL', rows);
    return { source: 'PostgreSQL', ours, theirs };
  } finally {
    for (const run of runs) await removeRun(run, admin);
    const { changelog, schemas } = connectorTopics(prefix, 'bench');
    await deleteTopics(admin, [changelog, schemas]);
    await admin.disconnect();
    await source.drop(); // drops the slots too
  }
}
