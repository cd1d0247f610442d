/**
 * The stage of a topology test on the local stack: PostgreSQL nodes as databases of the one cluster, node names
 * made unique per run (replication origins and slots are cluster-wide, so two runs must not share them), the
 * pipeline started from a `topology` configuration as `cdc run` would, and the clean-up of databases, slots,
 * origins and Kafka state.
 */
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { createLogger } from '../../../common/logger.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { adminQuery, createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { randomBytes } from 'node:crypto';

export interface PgNode {
  /** Node name in the topology (unique per run). */
  readonly name: string;
  readonly db: TestDatabase;
}

export interface TopologyStage {
  readonly prefix: string;
  readonly nodes: Readonly<Record<string, PgNode>>;
  readonly config: PipelineConfig;
  readonly pipeline: RunningPipeline;
  changelog(node: string): string;
  cleanup(): Promise<void>;
}

export interface StageLink {
  readonly from: string;
  readonly to: string;
  readonly shape?: string;
}

/**
 * Creates a database per node (`prepare` runs on each before the pipeline starts) and starts the pipeline for
 * `shape` and `links`, written with the short names given (`a`, `b`...), which the stage maps to unique ones.
 */
export async function startTopology(
  label: string,
  shape: string,
  nodeNames: readonly string[],
  links: readonly StageLink[],
  prepare: (node: string, db: TestDatabase) => Promise<void>,
): Promise<TopologyStage> {
  const suffix = randomBytes(3).toString('hex');
  const prefix = uniqueName(label).replaceAll('_', '-');
  const nodes: Record<string, PgNode> = {};
  for (const short of nodeNames) {
    const db = await createDatabase(`${label}_${short}`);
    await prepare(short, db);
    nodes[short] = { name: `${short}-${suffix}`, db };
  }
  const nameOf = (short: string) => nodes[short]?.name ?? short;
  const config = parseConfig(
    JSON.stringify({
      name: prefix,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
      topology: {
        shape,
        nodes: nodeNames.map((short) => ({
          name: nameOf(short),
          kind: 'postgres',
          url: nodes[short]?.db.url,
          capture: { slot: uniqueName(`slot_${short}`), heartbeatIntervalMs: 500, snapshotChunkRows: 500 },
        })),
        links: links.map((l) => ({ ...l, from: nameOf(l.from), to: nameOf(l.to) })),
      },
      api: { port: 0 },
    }),
    'json',
    { env: {} },
  );
  const pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  return {
    prefix,
    nodes,
    config,
    pipeline,
    changelog: (short) => connectorTopics(prefix, nameOf(short)).changelog,
    async cleanup() {
      await pipeline.stop();
      for (const node of Object.values(nodes)) await node.db.drop();
      for (const link of config.topology?.links ?? []) {
        if (link.marker === null) continue;
        await adminQuery(
          'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
          [link.marker],
        );
      }
      await deleteKafkaState(
        [
          ...new Set(
            config.sources.flatMap((s) => Object.values<string>({ ...connectorTopics(prefix, s.name) })),
          ),
        ],
        config.replicas.map((r) => `${prefix}.apply.${r.name}`),
        prefix,
      );
    },
  };
}

/** Whether the slot of `node` has confirmed the cluster's WAL up to `lsn` (capture read and passed it). */
export async function slotConfirmedPast(stage: TopologyStage, node: string, lsn: string): Promise<boolean> {
  const source = stage.config.sources.find((s) => s.name === stage.nodes[node]?.name);
  if (source?.kind !== 'postgres') throw new Error(`node ${node} is not a captured PostgreSQL node`);
  const result = await adminQuery(
    'SELECT confirmed_flush_lsn >= $1::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $2',
    [lsn, source.slot],
  );
  return (result.rows[0] as { past?: string } | undefined)?.past === 't';
}

export async function currentWalLsn(): Promise<string> {
  const result = await adminQuery('SELECT pg_current_wal_lsn()::text AS lsn');
  return String((result.rows[0] as { lsn?: string } | undefined)?.lsn);
}
