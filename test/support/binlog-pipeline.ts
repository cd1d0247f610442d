/**
 * Pipelines with a MariaDB source for end-to-end tests: a configuration with unique names (topic prefix, source
 * name, binlog server id), written to a file for `cdc run` children too, and the clean-up of everything the
 * pipeline kept outside the test databases (topics, consumer groups, the replica's replication origin).
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../services/config/load.ts';
import type { PipelineConfig } from '../../services/config/schema.ts';
import { connectorTopics, type ConnectorTopics } from '../../services/kafka/topics.ts';
import { deleteKafkaState } from './changelog.ts';
import { forgetMariadbAppliedPosition } from './mariadb.ts';
import { dropOriginsOf } from './pg.ts';
import { stack, uniqueName } from './stack.ts';

export interface TestPipelineOptions {
  /** Names the topic prefix (made unique). */
  readonly prefix: string;
  readonly source: {
    readonly kind: 'mariadb' | 'postgres';
    readonly url: string;
    readonly tables?: readonly string[];
    /** Settings added to the source's (`ha`, for example). */
    readonly settings?: Readonly<Record<string, unknown>>;
  };
  readonly replica: { readonly kind: 'mariadb' | 'postgres'; readonly url: string };
  readonly onError?: 'dead-letter' | 'stop';
  readonly logLevel?: string;
  readonly maxTransactionEvents?: number;
  /** The source's initial snapshot: 'initial' (the default) or 'never'. */
  readonly snapshot?: 'initial' | 'never';
}

export interface TestPipeline {
  readonly name: string;
  readonly sourceName: string;
  readonly replicaName: string;
  readonly topics: ConnectorTopics;
  readonly config: PipelineConfig;
  /** The configuration as JSON, written to this file (for `cdc run --config`). */
  readonly configPath: string;
  /** Deletes topics, consumer groups, the replica's origin or applied position, and the configuration file. */
  cleanup(): Promise<void>;
}

export async function createTestPipeline(options: TestPipelineOptions): Promise<TestPipeline> {
  const name = uniqueName(options.prefix).replaceAll('_', '-');
  const sourceName = uniqueName('src').replaceAll('_', '-');
  const replicaName = 'dst';
  const source =
    options.source.kind === 'mariadb'
      ? {
          name: sourceName,
          kind: 'mariadb',
          url: options.source.url,
          // Unique among the shared server's binlog readers, so parallel tests never kick each other off.
          serverId: 2_000_000 + Math.floor(Math.random() * 1_000_000_000),
          snapshotChunkRows: 200,
          heartbeatIntervalMs: 500,
          ...(options.snapshot !== undefined ? { snapshot: options.snapshot } : {}),
          ...(options.source.tables !== undefined ? { tables: options.source.tables } : {}),
          ...(options.maxTransactionEvents !== undefined
            ? { maxTransactionEvents: options.maxTransactionEvents }
            : {}),
          ...options.source.settings,
        }
      : {
          name: sourceName,
          kind: 'postgres',
          url: options.source.url,
          slot: uniqueName('slot'),
          snapshotChunkRows: 200,
          heartbeatIntervalMs: 500,
          ...(options.source.tables !== undefined ? { tables: options.source.tables } : {}),
          ...(options.maxTransactionEvents !== undefined
            ? { maxTransactionEvents: options.maxTransactionEvents }
            : {}),
          ...options.source.settings,
        };
  const text = JSON.stringify(
    {
      name,
      logLevel: options.logLevel ?? 'info',
      // A killed apply worker's partitions go to its successor after 6 s rather than Kafka's default 30 s.
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6_000 },
      sources: [source],
      replicas: [
        {
          name: replicaName,
          source: sourceName,
          kind: options.replica.kind,
          url: options.replica.url,
          onError: options.onError ?? 'stop',
        },
      ],
      api: { port: 0 },
    },
    null,
    2,
  );
  const configPath = join(tmpdir(), `${name}.json`);
  await writeFile(configPath, text);
  const topics = connectorTopics(name, sourceName);
  return {
    name,
    sourceName,
    replicaName,
    topics,
    config: parseConfig(text, 'json', { origin: configPath }),
    configPath,
    async cleanup() {
      await rm(configPath, { force: true });
      if (options.replica.kind === 'postgres') {
        await dropOriginsOf(sourceName);
      } else {
        await forgetMariadbAppliedPosition(sourceName);
      }
      await deleteKafkaState(
        [topics.changelog, topics.deadLetter, topics.schemas, topics.lease],
        [
          `${name}.apply.${replicaName}`,
          `${name}.capture.${sourceName}`,
          `${name}.capture.${sourceName}.lease`,
        ],
      );
    },
  };
}
