/**
 * What synchronous capture costs a source commit: one client commits single-row transactions one after the
 * other on a PostgreSQL cluster of the bench's own (synchronous_standby_names is cluster-wide, so the stack's is
 * left alone), first with the capture running asynchronously (the raw limit: a commit as fast as this server
 * makes it), then with the capture named in synchronous_standby_names, so each commit also waits for its Kafka
 * transaction. Percentiles of the client-measured commit time.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/logger.ts';
import { parseConfig } from '../services/config/load.ts';
import { replicationApplicationName } from '../connectors/postgres/replication/replication-session.ts';
import { startPipeline } from '../services/pipeline/pipeline.ts';
import { startThrowawayPostgres } from '../test/support/throwaway-postgres.ts';
import { waitFor } from '../test/support/wait.ts';
import pg from 'pg';
import type { BenchEnv } from './env.ts';
import { percentile } from './measure.ts';

export interface SyncCommitResult {
  readonly commits: number;
  readonly async: { readonly p50Millis: number; readonly p99Millis: number };
  readonly sync: { readonly p50Millis: number; readonly p99Millis: number };
}

const DATABASE = 'bench_sync';
const SOURCE = 'src';

export async function benchSyncCommit(
  env: BenchEnv,
  commits: number,
  logger: Logger,
): Promise<SyncCommitResult> {
  const server = await startThrowawayPostgres({ prefix: 'cdc-bench-sync-' });
  try {
    await server.query(`CREATE DATABASE ${DATABASE}`);
    await server.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)', [], DATABASE);
    const name = `bench-sync-${Date.now().toString(36)}`;
    const config = parseConfig(
      JSON.stringify({
        name,
        kafka: { brokers: env.brokers, topicPrefix: name },
        sources: [{ name: SOURCE, kind: 'postgres', url: server.url(DATABASE), synchronous: true }],
      }),
      'json',
    );
    const pipeline = await startPipeline(config, logger, { api: false });
    const client = new pg.Client({ connectionString: server.url(DATABASE) });
    await client.connect();
    try {
      const syncState = () => pipeline.connectors()[0]?.synchronous?.syncState;
      // Streaming, not only sampled: the sampler reports a state while the capture is still starting.
      const streaming = () => pipeline.connectors()[0]?.state === 'streaming' && syncState() !== undefined;
      await waitFor('the capture to stream', () => Promise.resolve(streaming()), { timeoutMs: 120_000 });
      const asyncTimes = await timeCommits(client, 0, commits);
      const standby = replicationApplicationName(SOURCE);
      await server.query(`ALTER SYSTEM SET synchronous_standby_names = '"${standby}"'`);
      await server.query('SELECT pg_reload_conf()');
      await waitFor(
        'the capture to be the synchronous standby',
        () => Promise.resolve(syncState() === 'sync'),
        {
          timeoutMs: 60_000,
        },
      );
      const syncTimes = await timeCommits(client, commits, commits);
      // Commits must not wait on a capture that is about to stop.
      await server.query(`ALTER SYSTEM SET synchronous_standby_names = ''`);
      await server.query('SELECT pg_reload_conf()');
      return { commits, async: percentiles(asyncTimes), sync: percentiles(syncTimes) };
    } finally {
      await client.end();
      await pipeline.stop();
    }
  } finally {
    await server.stop();
  }
}

async function timeCommits(client: pg.Client, from: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let id = from; id < from + count; id++) {
    const started = performance.now();
    await client.query('INSERT INTO items VALUES ($1, $2)', [id, `row ${id}`]);
    times.push(performance.now() - started);
  }
  return times;
}

function percentiles(times: readonly number[]): { p50Millis: number; p99Millis: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50Millis: percentile(sorted, 0.5), p99Millis: percentile(sorted, 0.99) };
}
