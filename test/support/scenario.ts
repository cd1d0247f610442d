/**
 * The stage of a failure scenario (PostgreSQL → Kafka → PostgreSQL or MariaDB): its own source and replica databases
 * holding the workload tables, its own slot, source name (so its own replication origin), topic prefix and
 * configuration file; the checks a user would make afterwards; and the clean-up of all of it.
 *
 * Order of use: createScenario → start the pipeline (in-process or as `cdc run` children) → armAudit (waits for
 * the snapshot of the seed rows, then attaches the audit triggers) → workload and failures → assertConverged →
 * stop the pipeline → cleanup.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../services/config/load.ts';
import type { PipelineConfig } from '../../services/config/schema.ts';
import { connectorTopics, type ConnectorTopics } from '../../services/kafka/topics.ts';
import { auditCount, auditTrail, installAudit } from './audit.ts';
import { deleteKafkaState, positionProblems, readChangelog } from './changelog.ts';
import { createDatabase, dropOriginsOf, type TestDatabase } from './pg.ts';
import {
  mariadbReplica,
  postgresReplica,
  WORKLOAD_TABLES,
  type ReplicaKind,
  type ScenarioReplica,
} from './scenario-replica.ts';
import { stack, uniqueName } from './stack.ts';
import { waitFor } from './wait.ts';
import { WORKLOAD_SCHEMA } from './workload.ts';

export { WORKLOAD_TABLES, type ReplicaKind };

/** A scenario on a replica of either kind (createScenarioOn). */
export interface ScenarioStage {
  /** Pipeline name and topic prefix. */
  readonly name: string;
  readonly sourceName: string;
  readonly replicaName: string;
  readonly slot: string;
  readonly source: TestDatabase;
  /** The replica, whatever its kind: progress, trail, equality, ending the apply worker's sessions. */
  readonly target: ScenarioReplica;
  readonly topics: ConnectorTopics;
  /** The configuration as written to `configPath` (JSON). */
  readonly configText: string;
  readonly configPath: string;
  readonly config: PipelineConfig;
  /** Waits until the replica holds the seed rows, then attaches the audit triggers on both sides. */
  armAudit(): Promise<void>;
  /** Replica rows equal the source's, the audit trails are equal, and the changelog holds no duplicate. */
  assertConverged(when: string): Promise<ConvergedSummary>;
  cleanup(): Promise<void>;
}

/** A scenario on a PostgreSQL replica (createScenario). */
export interface Scenario extends ScenarioStage {
  readonly replica: TestDatabase;
}

/** What the convergence check compared, for the test's diagnostics. */
export interface ConvergedSummary {
  readonly auditedChanges: number;
  readonly changelogEvents: number;
}

export interface ScenarioOptions {
  /** Log level of the pipeline (`cdc run` children print it to stdout). */
  readonly logLevel?: string;
  /** Settings added to the source's (`ha`, for example). */
  readonly source?: Readonly<Record<string, unknown>>;
}

export async function createScenario(prefix: string, options: ScenarioOptions = {}): Promise<Scenario> {
  const replica = await postgresReplica(prefix);
  return { ...(await createStage(prefix, replica, options)), replica: replica.db };
}

/** The same scenario on a replica of the given kind. */
export async function createScenarioOn(
  kind: ReplicaKind,
  prefix: string,
  options: ScenarioOptions = {},
): Promise<ScenarioStage> {
  const replica = kind === 'postgres' ? await postgresReplica(prefix) : await mariadbReplica(prefix);
  return createStage(prefix, replica, options);
}

async function createStage(
  prefix: string,
  replica: ScenarioReplica,
  options: ScenarioOptions,
): Promise<ScenarioStage> {
  const name = uniqueName(prefix).replaceAll('_', '-');
  const sourceName = uniqueName('src');
  const replicaName = 'dst';
  const slot = uniqueName('slot');
  const source = await createDatabase(`${prefix}_src`);
  await source.query(WORKLOAD_SCHEMA);
  // Seed rows reach the replica through the snapshot; once they are there, the replica tables exist and
  // the audit triggers can be attached to them.
  await source.query(`
    INSERT INTO accounts (id, owner, balance, big_note)
      SELECT g, 'seed-' || g, g * 1.25, CASE WHEN g % 20 = 0 THEN repeat('seed-toast', 2000) END
      FROM generate_series(1, 300) g;
    INSERT INTO events (account_id, kind, payload, at) VALUES (1, 'seed', '{"seed": true}', '2024-01-01 00:00:00.000001');
  `);
  const configText = JSON.stringify(
    {
      name,
      logLevel: options.logLevel ?? 'info',
      // A killed apply worker's partitions go to its successor after 6 s rather than Kafka's default 30 s.
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6_000 },
      sources: [
        {
          name: sourceName,
          kind: 'postgres',
          url: source.url,
          slot,
          snapshotChunkRows: 100,
          heartbeatIntervalMs: 500,
          ...options.source,
        },
      ],
      replicas: [
        { name: replicaName, source: sourceName, kind: replica.kind, url: replica.url, onError: 'stop' },
      ],
      api: { port: 0 },
    },
    null,
    2,
  );
  const configPath = join(tmpdir(), `${name}.json`);
  await writeFile(configPath, configText);
  const config = parseConfig(configText, 'json', { origin: configPath });
  const topics = connectorTopics(name, sourceName);

  return {
    name,
    sourceName,
    replicaName,
    slot,
    source,
    target: replica,
    topics,
    configText,
    configPath,
    config,
    async armAudit() {
      await replica.waitSeeded(source);
      await installAudit(source, WORKLOAD_TABLES);
      await replica.installAudit();
    },
    async assertConverged(when) {
      const expectedChanges = await auditCount(source);
      // Everything the source recorded must arrive; more than that shows up as a difference below.
      await waitFor(
        `the replica to apply all ${expectedChanges} source changes ${when}`,
        async () => (await replica.changes()) >= expectedChanges,
        { timeoutMs: 240_000, intervalMs: 250 },
      );
      await replica.waitEqual(source, sourceName, when);
      const trail = await auditTrail(source);
      assertSameSequence(await replica.trail(), trail, `audit trail of the replica ${when}`);
      const events = await readChangelog(name, topics.changelog);
      assert.ok(events.length > 0, `the changelog ${topics.changelog} holds events`);
      assert.deepEqual(positionProblems(events), [], `changelog ${topics.changelog} positions ${when}`);
      return { auditedChanges: trail.length, changelogEvents: events.length };
    },
    async cleanup() {
      await rm(configPath, { force: true });
      await source.drop();
      await replica.drop();
      await replica.forget(sourceName);
      await dropKafkaState(name, sourceName, replicaName);
    },
  };
}

/**
 * What a PostgreSQL → Kafka → replica pipeline leaves outside its databases: its replication origin (cluster-wide,
 * so it goes with the test, not with the replica's database), topics and consumer groups.
 */
export async function dropPipelineState(
  name: string,
  sourceName: string,
  replicaName: string,
): Promise<void> {
  await dropOriginsOf(sourceName);
  await dropKafkaState(name, sourceName, replicaName);
}

/** The topics and consumer groups of a pipeline. */
async function dropKafkaState(name: string, sourceName: string, replicaName: string): Promise<void> {
  const topics = connectorTopics(name, sourceName);
  await deleteKafkaState(
    [topics.changelog, topics.deadLetter, topics.schemas, topics.lease],
    [`${name}.apply.${replicaName}`, `${name}.capture.${sourceName}`],
    `${name}.`,
  );
}

/** Equal sequences, or a failure showing where they part, with a little context (the full lists are long). */
export function assertSameSequence(
  actual: readonly string[],
  expected: readonly string[],
  what: string,
): void {
  const length = Math.max(actual.length, expected.length);
  for (let i = 0; i < length; i++) {
    if (actual[i] === expected[i]) continue;
    const from = Math.max(0, i - 3);
    assert.fail(
      `${what}: differs at entry ${i} of ${expected.length} expected (${actual.length} actual)\n` +
        `  expected ${JSON.stringify(expected.slice(from, i + 4))}\n` +
        `  actual   ${JSON.stringify(actual.slice(from, i + 4))}`,
    );
  }
}
