/**
 * The regions demo (bash stack/regions-demo.sh, `npm run demo:regions`): on the local stack, a three-region
 * mesh eu ⇄ us ⇄ ap whose writers all change the same rows (conflicts resolved by last-writer-wins, a stock
 * counter merged as a delta), and a cascade primary → tier1 → tier2 with a writer on the primary. Every few
 * seconds a line shows each link's lag and the conflicts recorded so far; after DEMO_SECONDS (default 40) the
 * writers stop, the links drain, and every link's target is verified against its source (as `cdc verify` does).
 * Databases, slots, origins and Kafka topics are fresh per run and removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createLogger } from '../common/logger.ts';
import { parseConfig } from '../services/config/load.ts';
import type { PipelineConfig } from '../services/config/schema.ts';
import { linkOriginName } from '../services/config/topology-compile.ts';
import { createKafka } from '../services/kafka/client.ts';
import { startPipeline, type RunningPipeline } from '../services/pipeline/pipeline.ts';
import { conflictLister } from '../services/pipeline/conflict-list.ts';
import { verifyReplica } from '../services/verify/verify-replica.ts';
import { formatVerifyReport } from '../services/cli/verify-format.ts';

const PG = process.env.CDC_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const BROKERS = (process.env.CDC_KAFKA_BROKERS ?? '127.0.0.1:59092').split(',');
const SECONDS = Number(process.env.DEMO_SECONDS ?? 40);
const run = `regions-demo-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const say = (line: string) => console.log(line);
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'error', name: 'regions-demo' });

const SCHEMA = [
  `CREATE TABLE items (id bigint PRIMARY KEY, val text NOT NULL, region text NOT NULL)`,
  `CREATE TABLE stock (id int PRIMARY KEY, qty bigint NOT NULL)`,
  `INSERT INTO stock SELECT g, 1000 FROM generate_series(1, 20) g`,
];
const HOT_KEYS = 200;

interface Node {
  readonly name: string;
  readonly database: string;
  readonly url: string;
  pool?: pg.Pool;
}

const admin = new pg.Client({ connectionString: PG });
await admin.connect();
const nodeOf = async (name: string): Promise<Node> => {
  const database = `${run.replaceAll('-', '_')}_${name}`;
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = Object.assign(new URL(PG), { pathname: `/${database}` }).toString();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  for (const statement of SCHEMA) await pool.query(statement);
  return { name, database, url, pool };
};

const mesh = await Promise.all(['eu', 'us', 'ap'].map(nodeOf));
const cascade = await Promise.all(['primary', 'tier1', 'tier2'].map(nodeOf));

const topology = (
  shape: string,
  nodes: readonly Node[],
  links: readonly [number, number][],
  apply?: object,
) =>
  parseConfig(
    JSON.stringify({
      name: `${run}-${shape}`,
      kafka: { brokers: BROKERS, topicPrefix: `${run}-${shape}` },
      topology: {
        shape,
        nodes: nodes.map((node) => ({
          name: node.name,
          kind: 'postgres',
          url: node.url,
          capture: { slot: `${node.database}_slot`, snapshot: 'never', heartbeatIntervalMs: 500 },
        })),
        links: links.map(([from, to]) => ({
          from: nodes[from]?.name,
          to: nodes[to]?.name,
          ...(apply ? { apply } : {}),
        })),
      },
      api: { host: '127.0.0.1', port: 0 },
    }),
    'json',
    { env: {} },
  );

const meshConfig = topology(
  'mesh',
  mesh,
  [
    [0, 1],
    [1, 2],
    [2, 0],
  ],
  { conflicts: { tables: { 'public.stock': { columns: { qty: 'delta' } } } } },
);
const cascadeConfig = topology('cascade', cascade, [
  [0, 1],
  [1, 2],
]);
const pipelines: [PipelineConfig, RunningPipeline][] = [];
for (const config of [meshConfig, cascadeConfig])
  pipelines.push([config, await startPipeline(config, logger)]);
say(`mesh eu ⇄ us ⇄ ap:      API ${pipelines[0]?.[1].apiUrl}/status`);
say(`cascade primary → tier1 → tier2: API ${pipelines[1]?.[1].apiUrl}/status`);
say(`waiting for every capture to stream...`);
while (!pipelines.every(([, p]) => p.connectors().every((c) => c.state === 'streaming'))) await delay(200);

// --- writers: every mesh region on the same hot rows, the cascade's primary on its own ---
let writing = true;
let written = 0;
const write = async (node: Node, hot: boolean) => {
  for (let seq = 0; writing; seq++) {
    const id = 1 + Math.floor(Math.random() * HOT_KEYS);
    const roll = Math.random();
    const sql =
      roll < 0.4
        ? `INSERT INTO items VALUES (${id}, '${node.name}-${seq}', '${node.name}') ON CONFLICT (id) DO UPDATE SET val = EXCLUDED.val, region = EXCLUDED.region`
        : roll < 0.6
          ? `DELETE FROM items WHERE id = ${id}`
          : `UPDATE stock SET qty = qty - 1 WHERE id = ${1 + (id % 20)}`;
    await node.pool?.query(sql);
    written++;
    // Regions write at a human pace, so conflicts stay readable in the lines below.
    await delay(hot ? 20 : 10);
  }
};
const writers = [...mesh.map((node) => write(node, true)), write(cascade[0] as Node, false)];

const conflicts = conflictLister(meshConfig.replicas);
const countConflicts = async (): Promise<number> => {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await conflicts.list({ limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
    total += page.entries.length;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return total;
};
const lagLine = () =>
  pipelines
    .flatMap(([, p]) => p.workers())
    .map((w) => {
      const ms = (value: number | null) => (value === null ? '-' : `${value} ms`);
      // End to end since the original commit, and this hop alone; records still waiting in the changelog.
      return `${w.name} ${ms(w.endToEndLagMillis)} (hop ${ms(w.hopLagMillis)}, backlog ${w.backlogEvents ?? '-'})`;
    })
    .join(' | ');

const started = Date.now();
say(`writing for ${SECONDS} s in every region; lag per link, and conflicts recorded in the mesh:`);
while (Date.now() - started < SECONDS * 1000) {
  await delay(3000);
  say(
    `${Math.round((Date.now() - started) / 1000)}s  ${written} writes  conflicts ${await countConflicts()}  ${lagLine()}`,
  );
}
writing = false;
await Promise.all(writers);

say('writers stopped; waiting for every link to drain...');
const drained = () => pipelines.every(([, p]) => p.workers().every((w) => w.lagMillis === 0));
const drainDeadline = Date.now() + 60_000;
for (let calm = 0; calm < 3 && Date.now() < drainDeadline; calm = drained() ? calm + 1 : 0) await delay(1000);
say(`${lagLine()}\n`);
for (const worker of pipelines.flatMap(([, p]) => p.workers()).filter((w) => w.state !== 'running'))
  say(`link ${worker.name} is ${worker.state}: ${worker.lastError ?? ''}`);

let equal = true;
for (const [config] of pipelines)
  for (const replica of config.replicas) {
    const report = await verifyReplica(config, { replica: replica.name }, { logger });
    equal &&= report.equal;
    say(formatVerifyReport(report));
    say('');
  }
say(
  `${await countConflicts()} conflicts recorded in the mesh (cdc conflicts --api ${pipelines[0]?.[1].apiUrl} lists them); every node ${equal ? 'EQUAL' : 'NOT equal'}`,
);

// --- clean up what would otherwise hold on to shared resources ---
for (const [, pipeline] of pipelines) await pipeline.stop();
for (const node of [...mesh, ...cascade]) await node.pool?.end();
for (const node of [...mesh, ...cascade]) {
  await admin.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`,
    [node.database],
  );
  await admin.query(`DROP DATABASE IF EXISTS "${node.database}" WITH (FORCE)`);
}
for (const [config] of pipelines)
  for (const link of config.topology?.links ?? [])
    await admin.query(
      'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
      [linkOriginName(link.from, link.to)],
    );
await admin.end();
const kafka = createKafka({ brokers: BROKERS, clientId: 'regions-demo' }).admin();
await kafka.connect();
const topics = (await kafka.listTopics()).filter((topic) => topic.startsWith(run));
if (topics.length > 0) await kafka.deleteTopics({ topics });
await kafka.disconnect();
process.exitCode = equal ? 0 : 1;
