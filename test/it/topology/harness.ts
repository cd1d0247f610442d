/**
 * The stage of a topology test on the local stack: nodes as databases of the one PostgreSQL cluster or the one
 * MariaDB server (a MariaDB node gets the server's own server_id and gtid_domain_id), node names
 * made unique per run (replication origins and slots are cluster-wide, so two runs must not share them), the
 * pipeline started from a `topology` configuration as `cdc run` would, and the clean-up of databases, slots,
 * origins and Kafka state.
 */
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { createLogger, type Logger } from '../../../common/logger.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import assert from 'node:assert/strict';
import { deleteKafkaState, positionProblems, readChangelog, topicEnd } from '../../support/changelog.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  mariadbAdminQuery,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { adminQuery, createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { randomBytes } from 'node:crypto';

export type NodeDatabase =
  | { readonly kind: 'postgres'; readonly db: TestDatabase }
  | { readonly kind: 'mariadb'; readonly db: MariadbTestDatabase };

export type StageNode = NodeDatabase & {
  /** Node name in the topology (unique per run). */
  readonly name: string;
};

export interface TopologyStage {
  readonly prefix: string;
  readonly nodes: Readonly<Record<string, StageNode>>;
  /** The running configuration and pipeline (replaced by restart()). */
  config: PipelineConfig;
  pipeline: RunningPipeline;
  changelog(node: string): string;
  /** Stops the pipeline and starts it again with other links between the same nodes (same slots, topics). */
  restart(links: readonly StageLink[]): Promise<void>;
  cleanup(): Promise<void>;
}

export interface StageLink {
  readonly from: string;
  readonly to: string;
  readonly shape?: string;
  /** Apply settings of the link (`conflicts`, `onError`...). */
  readonly apply?: Readonly<Record<string, unknown>>;
}

export interface StageOptions {
  /** Node settings over the stage's own (`url`, `originMarking`...; `capture` is merged). */
  readonly nodes?: (short: string, database: NodeDatabase) => Readonly<Record<string, unknown>>;
  /** The pipeline's logger (silent, or CDC_TEST_LOG's level, when absent). */
  readonly logger?: Logger;
}

/**
 * Creates a database per node (PostgreSQL unless `mariadb` names it; `prepare` runs on each before the pipeline
 * starts) and starts the pipeline for `shape` and `links`, written with the short names given (`a`, `b`...),
 * which the stage maps to unique ones.
 */
export async function startTopology(
  label: string,
  shape: string,
  nodeNames: readonly string[],
  links: readonly StageLink[],
  prepare: (node: string, database: NodeDatabase) => Promise<void>,
  mariadb: readonly string[] = [],
  options: StageOptions = {},
): Promise<TopologyStage> {
  const suffix = randomBytes(3).toString('hex');
  const prefix = uniqueName(label).replaceAll('_', '-');
  const nodes: Record<string, StageNode> = {};
  for (const short of nodeNames) {
    const database: NodeDatabase = mariadb.includes(short)
      ? { kind: 'mariadb', db: await createMariadbDatabase(`${label}_${short}`) }
      : { kind: 'postgres', db: await createDatabase(`${label}_${short}`) };
    await prepare(short, database);
    nodes[short] = { ...database, name: `${short}-${suffix}` };
  }
  const nameOf = (short: string) => nodes[short]?.name ?? short;
  const [server] =
    mariadb.length > 0 ? await mariadbAdminQuery('SELECT @@server_id AS id, @@gtid_domain_id AS domain') : [];
  const topologyNodes = nodeNames.map((short) => {
    const base =
      nodes[short]?.kind === 'mariadb'
        ? {
            name: nameOf(short),
            kind: 'mariadb',
            url: nodes[short].db.url,
            serverId: Number(server?.id),
            gtidDomainId: Number(server?.domain),
            capture: { heartbeatIntervalMs: 500, snapshotChunkRows: 500 },
          }
        : {
            name: nameOf(short),
            kind: 'postgres',
            url: nodes[short]?.db.url,
            capture: { slot: uniqueName(`slot_${short}`), heartbeatIntervalMs: 500, snapshotChunkRows: 500 },
          };
    const node = nodes[short];
    const extra = node === undefined ? {} : (options.nodes?.(short, node) ?? {});
    return { ...base, ...extra, capture: { ...base.capture, ...(extra.capture as object | undefined) } };
  });
  const configFor = (stageLinks: readonly StageLink[]) =>
    parseConfig(
      JSON.stringify({
        name: prefix,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
        topology: {
          shape,
          nodes: topologyNodes,
          links: stageLinks.map((l) => ({ ...l, from: nameOf(l.from), to: nameOf(l.to) })),
        },
        api: { port: 0 },
      }),
      'json',
      { env: {} },
    );
  const logger = options.logger ?? createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  // Every configuration the stage ran, so clean-up finds every topic, group and origin.
  const ran: PipelineConfig[] = [configFor(links)];
  const first = ran[0] as PipelineConfig;
  const stage: TopologyStage = {
    prefix,
    nodes,
    config: first,
    pipeline: await startPipeline(first, logger),
    changelog: (short) => connectorTopics(prefix, nameOf(short)).changelog,
    async restart(stageLinks) {
      await stage.pipeline.stop();
      stage.config = configFor(stageLinks);
      ran.push(stage.config);
      stage.pipeline = await startPipeline(stage.config, logger);
    },
    async cleanup() {
      await stage.pipeline.stop();
      for (const node of Object.values(nodes)) await node.db.drop();
      for (const link of ran.flatMap((config) => config.topology?.links ?? [])) {
        if (Object.values(nodes).some((node) => node.name === link.to && node.kind === 'mariadb')) {
          await forgetMariadbAppliedPosition(link.from);
          continue;
        }
        if (link.marker === null) continue;
        for (const marker of [link.marker, ...Object.values(link.originals)])
          await adminQuery(
            'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
            [marker],
          );
      }
      const sources = ran.flatMap((config) => config.sources);
      await deleteKafkaState(
        [...new Set(sources.flatMap((s) => Object.values<string>({ ...connectorTopics(prefix, s.name) })))],
        [...new Set(ran.flatMap((config) => config.replicas.map((r) => `${prefix}.apply.${r.name}`)))],
        prefix,
      );
    },
  };
  return stage;
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

/**
 * The loop detector of a two-way topology, once its writers stopped and it converged. Every PostgreSQL node's
 * capture reads past everything written so far, twice: the changelog topics must not have grown in between
 * (a change going round would keep them growing). Then each changelog holds only its own node's writes, each
 * once and in order, and every apply worker fed from it applied exactly those: each original change was applied
 * once on each other node.
 */
export async function assertNoLoop(stage: TopologyStage): Promise<void> {
  const captured = Object.keys(stage.nodes).filter((short) =>
    stage.config.sources.some((s) => s.name === stage.nodes[short]?.name),
  );
  const postgres = captured.filter((short) => stage.nodes[short]?.kind === 'postgres');
  const topics = captured.map((short) => stage.changelog(short));
  const endsAfterRound = async () => {
    const lsn = await currentWalLsn();
    await waitFor(`the slots of ${postgres.join(', ')} to confirm past ${lsn}`, async () => {
      const past = await Promise.all(postgres.map((short) => slotConfirmedPast(stage, short, lsn)));
      return past.every(Boolean);
    });
    return Promise.all(topics.map((topic) => topicEnd(topic)));
  };
  const first = await endsAfterRound();
  const second = await endsAfterRound();
  assert.deepEqual(
    second,
    first,
    `end offsets of ${topics.join(', ')} kept moving with every writer stopped: a loop`,
  );

  for (const short of captured) {
    const events = await readChangelog(stage.prefix, stage.changelog(short));
    assert.ok(events.length > 0, `${short} published nothing`);
    assert.deepEqual(positionProblems(events), [], `${short}'s changelog repeats or reorders a change`);
    const replicated = events.filter((item) => item.event.source.origin !== null);
    assert.deepEqual(
      replicated.map((item) => `${item.offset}: origin ${String(item.event.source.origin)}`),
      [],
      `${short} re-published changes it received over a two-way link`,
    );
    for (const worker of stage.pipeline.workers().filter((w) => w.source === stage.nodes[short]?.name))
      assert.equal(
        worker.eventsApplied,
        events.length,
        `${worker.name} applied ${short}'s changes a different number of times`,
      );
  }
}

/** Waits until every connector of the stage streams, so no link's first writes race its target's capture start. */
export async function waitStreaming(stage: TopologyStage): Promise<void> {
  await waitFor(
    'every connector to stream',
    () => stage.pipeline.connectors().every((connector) => connector.state === 'streaming'),
    { timeoutMs: 120_000 },
  );
}

/** The table the writers of two-way tests write (`writeOwnKeys`), on PostgreSQL nodes. */
export const ITEMS_TABLE = `CREATE TABLE items (
  id bigint PRIMARY KEY,
  owner text NOT NULL,
  n integer NOT NULL,
  note text,
  updated_at timestamptz(6) NOT NULL DEFAULT now()
)`;

/**
 * Waits until the items of two PostgreSQL nodes are equal, and checks they hold rows of both writers
 * (`writeOwnKeys` with bases 0 and 100000).
 */
export async function assertItemsConverge(a: TestDatabase, b: TestDatabase, seed: number): Promise<void> {
  let converged: string[] = [];
  await waitFor(
    `a.items and b.items to be equal (seed ${seed})`,
    async () => {
      const [rowsA, rowsB] = await Promise.all([
        tableContent(a, 'items', 'id'),
        tableContent(b, 'items', 'id'),
      ]);
      converged = rowsA ?? [];
      return JSON.stringify(rowsA) === JSON.stringify(rowsB);
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  assert.ok(
    converged.some((row) => row.startsWith('(1')) && converged.some((row) => row.startsWith('(1000')),
    'the converged table should hold rows written on both sides',
  );
}

/** A node's items as `[id, owner, n, note]` text, the same for PostgreSQL and MariaDB. */
async function itemsText(node: StageNode): Promise<string> {
  const sql = 'SELECT id, owner, n, note FROM items ORDER BY id';
  const rows =
    node.kind === 'postgres'
      ? (await node.db.query(sql)).rows.map((row) => row as Record<string, unknown>)
      : await node.db.query(sql);
  return JSON.stringify(
    rows.map((row) =>
      [row.id, row.owner, row.n, row.note].map((v) =>
        v === null || v === undefined ? null : String(v as string),
      ),
    ),
  );
}

/**
 * Waits until the items of two nodes of any kind are equal, and checks they hold rows of both writers
 * (`writeOwnKeys` with bases 0 and 100000).
 */
export async function assertMixedItemsConverge(a: StageNode, b: StageNode, seed: number): Promise<void> {
  let converged = '[]';
  await waitFor(
    `${a.name}.items and ${b.name}.items to be equal (seed ${seed})`,
    async () => {
      const [rowsA, rowsB] = await Promise.all([itemsText(a), itemsText(b)]);
      converged = rowsA;
      return rowsA === rowsB;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const ids = (JSON.parse(converged) as string[][]).map((row) => Number(row[0]));
  assert.ok(
    ids.some((id) => id <= 200) && ids.some((id) => id > 100_000),
    'the converged table should hold rows written on both sides',
  );
}

/**
 * A writer of a two-way test: inserts (upserts), updates and deletes on `items` keys `base + 1 .. base + 200`
 * only, in small transactions, so writers on different nodes never touch one row (conflicts are not tested here).
 */
export async function writeOwnKeys(
  database: NodeDatabase,
  base: number,
  seed: number,
  transactions: number,
): Promise<void> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const upsert =
    database.kind === 'postgres'
      ? 'ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, n = EXCLUDED.n'
      : 'ON DUPLICATE KEY UPDATE owner = VALUES(owner), n = VALUES(n)';
  for (let i = 0; i < transactions; i++) {
    const statements: string[] = [];
    for (let s = 1 + pick(4); s > 0; s--) {
      const id = base + 1 + pick(200);
      const roll = pick(10);
      if (roll < 5)
        statements.push(
          `INSERT INTO items (id, owner, n, note) VALUES (${id}, 'w${base}-${pick(1e6)}', ${pick(1000)}, ${pick(5) === 0 ? 'NULL' : `'note ${pick(100)}'`}) ${upsert}`,
        );
      else if (roll < 8) statements.push(`UPDATE items SET n = n + 1 WHERE id = ${id}`);
      else statements.push(`DELETE FROM items WHERE id = ${id}`);
    }
    await database.db.query(`BEGIN; ${statements.join(';\n')}; COMMIT;`);
  }
}
