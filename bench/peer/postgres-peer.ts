/**
 * PostgreSQL side by side: the bench's pre-written rows captured by us and by Debezium Server in each of its
 * configurations, every reader from its own replication slot made before the rows were written.
 */
import type { Logger } from '../../common/logger.ts';
import type { BenchEnv } from '../env.ts';
import { BENCH_PUBLICATION, createPostgresBenchTable, writePostgresRows } from '../postgres-bench.ts';
import { captureApart } from '../stages-apart.ts';
import { postgresSettings } from './debezium-settings.ts';
import { PeerKafka, type PeerComparison } from './peer-runs.ts';

export async function peerPostgres(env: BenchEnv, rows: number, logger: Logger): Promise<PeerComparison> {
  const source = await env.createPgDatabase('peer_src');
  const prefix = `peer-${source.name.slice(-6)}`;
  const peer = await PeerKafka.open(env.brokers, prefix, logger);
  try {
    await createPostgresBenchTable(source);
    const slot = (reader: string) => `${source.name}_${reader}`;
    const runs = await peer.prepareRuns({
      topics: (topicPrefix) => ({ rows: `${topicPrefix}.public.bench_rows`, others: [] }),
      settings: (index) =>
        postgresSettings(source.url, slot(`dbz${index}`), BENCH_PUBLICATION, 'public.bench_rows'),
    });
    // Every slot exists before the rows are written, so every reader has all of them to catch up with.
    for (const name of [slot('ours'), ...runs.map((_run, index) => slot(`dbz${index}`))])
      await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
    await writePostgresRows(source, rows);

    // In a process of its own with the product's node settings, as `npm run bench` runs it: its peak RSS is the
    // capture's, not what writing the rows left in this process.
    const ours = await captureApart({
      kind: 'postgres-capture',
      url: source.url,
      slot: slot('ours'),
      prefix,
      rows,
    });
    const theirs = await peer.measureRuns('PostgreSQL', rows);
    return { source: 'PostgreSQL', ours, theirs };
  } finally {
    await peer.close();
    await source.drop(); // drops the slots too
  }
}
