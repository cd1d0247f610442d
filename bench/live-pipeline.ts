/**
 * A whole pipeline (capture and apply in this process, as `cdc run` runs them) between a PostgreSQL source and
 * a PostgreSQL replica, for the benchmarks that write while it runs: commit → replica lag and small
 * transactions. The replica writes without a replication origin (`origin: false`), so each of its commits keeps
 * its own commit time, which is what the lag is read from.
 */
import type { Logger } from '../common/logger.ts';
import { parseConfig } from '../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../services/pipeline/pipeline.ts';
import type { TestDatabase } from '../test/support/pg.ts';
import { waitFor } from '../test/support/wait.ts';

export interface LivePipeline {
  readonly running: RunningPipeline;
  /** Events the replica's apply worker applied so far. */
  applied(): number;
  stop(): Promise<void>;
}

export async function startLivePipeline(options: {
  readonly brokers: readonly string[];
  readonly source: TestDatabase;
  readonly replica: TestDatabase;
  readonly logger: Logger;
}): Promise<LivePipeline> {
  const name = `bench-${options.source.name.slice(-6)}`;
  const config = parseConfig(
    JSON.stringify({
      name,
      logLevel: 'warn',
      kafka: { brokers: options.brokers, topicPrefix: name },
      sources: [
        { name: 'src', kind: 'postgres', url: options.source.url, slot: `${options.source.name}_slot` },
      ],
      replicas: [
        {
          name: 'dst',
          source: 'src',
          kind: 'postgres',
          url: options.replica.url,
          onError: 'stop',
          origin: false,
        },
      ],
    }),
    'json',
    { origin: `${name} (benchmark)` },
  );
  const running = await startPipeline(config, options.logger, { api: false });
  const applied = (): number => running.workers()[0]?.eventsApplied ?? 0;
  try {
    await waitFor('the benchmark pipeline to stream', () => running.connectors()[0]?.state === 'streaming', {
      timeoutMs: 120_000,
    });
  } catch (error) {
    await running.stop();
    throw error;
  }
  return { running, applied, stop: () => running.stop() };
}
