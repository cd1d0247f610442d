/**
 * Clock skew under last-writer-wins, with a real clock running ahead: a pair a ⇄ b where a is a database of the
 * stack's PostgreSQL (true time) and b one of a second cluster whose clock runs AHEAD_SECONDS ahead
 * (test/support/skewed-postgres.ts: libfaketime preloaded, so b's commit timestamps, which are the row versions
 * last-writer-wins compares, run ahead). The outcome docs/conflicts.md promises:
 *  - within the skew, b's write wins against a's, though a's was made after it in real time;
 *  - past the skew (a's write made when a's clock has passed the time b stamped on its write), a's wins;
 *  - the link b → a reports b's clock ahead: `cdc_apply_clock_skew_seconds` and a warning naming b.
 * Both links are paused while the two sides write, so both writes are made before either reaches the other
 * node: a real conflict on each node, whatever the timing of delivery.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../../services/config/load.ts';
import { linkOriginName, linkReplicaName } from '../../../services/config/topology-compile.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import type { ConflictPage } from '../../../services/pipeline/conflict-list.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { adminQuery, createDatabase, type TestDatabase } from '../../support/pg.ts';
import { startSkewedPostgres, type SkewedPostgres } from '../../support/skewed-postgres.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const AHEAD_SECONDS = 30;
const TABLE = `CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);
  ALTER TABLE items REPLICA IDENTITY FULL;
  INSERT INTO items VALUES (1, 'seed'), (2, 'seed')`;

const prefix = uniqueName('skew').replaceAll('_', '-');
const a = `${prefix}-a`;
const b = `${prefix}-b`;
const bDatabase = uniqueName('skew_b');
const aToB = linkReplicaName(a, b);
const bToA = linkReplicaName(b, a);

let skewed: SkewedPostgres | undefined;
let aDb: TestDatabase | undefined;
let pipeline: RunningPipeline | undefined;
/** Warnings the pipeline logged, parsed. */
const warnings: Record<string, unknown>[] = [];

before(async () => {
  skewed = await startSkewedPostgres(AHEAD_SECONDS);
  await skewed.query(`CREATE DATABASE ${bDatabase}`);
  await skewed.query(TABLE, [], bDatabase);
  aDb = await createDatabase('skew_a');
  await aDb.query(TABLE);
  const config = parseConfig(
    JSON.stringify({
      name: prefix,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
      topology: {
        shape: 'pair',
        nodes: [
          { name: a, url: aDb.url, slot: uniqueName('slot_a') },
          { name: b, url: skewed.url(bDatabase), slot: uniqueName('slot_b') },
        ].map((node) => ({
          name: node.name,
          kind: 'postgres',
          url: node.url,
          capture: { slot: node.slot, heartbeatIntervalMs: 500, snapshot: 'never' },
        })),
        links: [{ from: a, to: b, apply: { conflicts: { policy: 'last-writer-wins' } } }],
      },
      api: { host: '127.0.0.1', port: 0 },
    }),
    'json',
    { env: {} },
  );
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        warnings.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  pipeline = await startPipeline(config, pino({ level: 'warn' }, log));
  const running = pipeline;
  await waitFor(
    'both captures to stream and both links to run',
    () =>
      running.connectors().every((c) => c.state === 'streaming') &&
      running.workers().every((w) => w.state === 'running'),
    { timeoutMs: 120_000 },
  );
});

after(async () => {
  // Each step runs whatever failed before it: the skewed cluster must not outlive the test.
  const steps: (() => Promise<unknown>)[] = [
    async () => pipeline?.stop(),
    async () => aDb?.drop(),
    // The origin of the link into a lives in the stack's cluster; b's cluster goes with everything in it.
    () =>
      adminQuery('SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL', [
        linkOriginName(b, a),
      ]),
    async () => skewed?.stop(),
    () =>
      deleteKafkaState(
        // Both nodes share the schema topic: named once (Kafka refuses a deletion naming a topic twice).
        [...new Set([a, b].flatMap((node) => Object.values<string>({ ...connectorTopics(prefix, node) })))],
        [aToB, bToA].map((worker) => `${prefix}.apply.${worker}`),
        prefix,
      ),
  ];
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

function nodes(): { pipeline: RunningPipeline; skewed: SkewedPostgres; aDb: TestDatabase } {
  assert.ok(pipeline && skewed && aDb, 'the pair did not start');
  return { pipeline, skewed, aDb };
}

/** Writes `v` of item `id` on a node and returns the commit time PostgreSQL keeps for it (its version). */
async function write(node: 'a' | 'b', id: number, v: string): Promise<string> {
  const { skewed, aDb } = nodes();
  const run = (sql: string, params: unknown[]) =>
    node === 'a' ? aDb.query(sql, params) : skewed.query(sql, params, bDatabase);
  await run('UPDATE items SET v = $2 WHERE id = $1', [id, v]);
  const version = await run(
    `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS ts FROM items WHERE id = $1`,
    [id],
  );
  return firstValue(version, 'ts') ?? '';
}

async function valueOn(node: 'a' | 'b', id: number): Promise<string | undefined> {
  const { skewed, aDb } = nodes();
  const sql = 'SELECT v FROM items WHERE id = $1';
  const result = node === 'a' ? await aDb.query(sql, [id]) : await skewed.query(sql, [id], bDatabase);
  return firstValue(result, 'v');
}

/** A column of the first row, as the server's text. */
function firstValue(result: { rows: readonly unknown[] }, column: string): string | undefined {
  const row = result.rows[0] as Record<string, string | undefined> | undefined;
  return row?.[column];
}

async function setLinksPaused(paused: boolean): Promise<void> {
  const { pipeline } = nodes();
  for (const worker of [aToB, bToA]) await pipeline.setPaused?.('worker', worker, paused);
}

/** GET /conflicts of the pipeline for item `id`, once both links recorded theirs: by link, as an operator reads it. */
async function conflictsOf(id: number): Promise<Record<string, Record<string, unknown>>> {
  const { pipeline } = nodes();
  return waitFor(
    `both links to record a conflict on item ${id}`,
    async () => {
      const response = await fetch(`${pipeline.apiUrl}/conflicts?table=public.items&limit=100`);
      const page = (await response.json()) as ConflictPage;
      const mine = page.entries.filter(
        (entry) => JSON.stringify(entry.key) === JSON.stringify({ id: String(id) }),
      );
      const byLink = Object.fromEntries(
        mine.map((entry) => [
          entry.replica,
          {
            kind: entry.kind,
            policy: entry.policy,
            outcome: entry.outcome,
            localOrigin: entry.localOrigin,
            remoteOrigin: entry.remoteOrigin,
          },
        ]),
      );
      return mine.length >= 2 ? byLink : null;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

test(`b's clock runs ${AHEAD_SECONDS} s ahead of a's`, async () => {
  const { skewed } = nodes();
  const now = 'SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS micros';
  const before = BigInt(firstValue(await adminQuery(now), 'micros') ?? '0');
  const onB = BigInt(firstValue(await skewed.query(now), 'micros') ?? '0');
  const after = BigInt(firstValue(await adminQuery(now), 'micros') ?? '0');
  // b's clock was read between the two readings of a's: its offset lies between them, exactly.
  const ahead = BigInt(AHEAD_SECONDS) * 1_000_000n;
  assert.ok(
    onB - before >= ahead - 1_000n && onB - after <= ahead + 1_000n,
    `b read ${onB}, a read ${before} before and ${after} after: not ${AHEAD_SECONDS} s ahead`,
  );
});

test("within the skew, b's write wins over a's made after it in real time, on both nodes", async () => {
  await setLinksPaused(true);
  const onB = await write('b', 1, 'written on b first');
  const onA = await write('a', 1, 'written on a afterwards');
  assert.ok(onA < onB, `a's later write should carry the older version: a ${onA}, b ${onB}`);
  await setLinksPaused(false);

  const recorded = await conflictsOf(1);
  assert.deepEqual(recorded, {
    [bToA]: {
      kind: 'update_differs',
      policy: 'last-writer-wins',
      outcome: 'applied_remote',
      localOrigin: a,
      remoteOrigin: b,
    },
    [aToB]: {
      kind: 'update_differs',
      policy: 'last-writer-wins',
      outcome: 'kept_local',
      localOrigin: b,
      remoteOrigin: a,
    },
  });
  assert.equal(await valueOn('a', 1), 'written on b first');
  assert.equal(await valueOn('b', 1), 'written on b first');
});

test("past the skew, a write on a made once a's clock passed b's version wins", async () => {
  const { aDb } = nodes();
  await setLinksPaused(true);
  const onB = await write('b', 2, 'written on b first');
  await waitFor(
    `a's clock to pass ${onB}, the time b stamped on its write`,
    async () => {
      const result = await aDb.query(`SELECT clock_timestamp() AT TIME ZONE 'UTC' > $1::timestamp AS past`, [
        onB,
      ]);
      return firstValue(result, 'past') === 't';
    },
    { timeoutMs: (AHEAD_SECONDS + 60) * 1_000, intervalMs: 250 },
  );
  const onA = await write('a', 2, 'written on a past the skew');
  assert.ok(onA > onB, `a's write should carry the newer version: a ${onA}, b ${onB}`);
  await setLinksPaused(false);

  const recorded = await conflictsOf(2);
  assert.equal(recorded[bToA]?.outcome, 'kept_local');
  assert.equal(recorded[aToB]?.outcome, 'applied_remote');
  assert.equal(await valueOn('a', 2), 'written on a past the skew');
  assert.equal(await valueOn('b', 2), 'written on a past the skew');
});

test("the link from b reports b's clock ahead (metric and warning); the link from a reports none", async () => {
  const { pipeline, skewed } = nodes();
  await skewed.query(`INSERT INTO items VALUES (3, 'fresh from b')`, [], bDatabase);
  await waitFor("b's insert to reach a", async () => (await valueOn('a', 3)) === 'fresh from b', {
    timeoutMs: 120_000,
    intervalMs: 250,
  });

  const text = await (await fetch(`${pipeline.apiUrl}/metrics`)).text();
  const skewOf = (worker: string): number => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith('cdc_apply_clock_skew_seconds{') && l.includes(`replica="${worker}"`));
    assert.ok(line, `no cdc_apply_clock_skew_seconds series for ${worker}:\n${text}`);
    return Number(line.split(' ').at(-1));
  };
  // A lower bound of b's lead (the delivery time hides the rest), above the warning threshold (100 ms).
  const fromB = skewOf(bToA);
  assert.ok(fromB > 0.1 && fromB <= AHEAD_SECONDS, `b → a reports ${fromB} s`);
  assert.equal(skewOf(aToB), 0, "a's clock is behind b's: nothing from a arrives from the future");

  const warned = await waitFor('a warning about the skew of b', () =>
    warnings.find((line) => line.replica === bToA && line.origin === b && line.aheadMillis !== undefined),
  );
  assert.ok(Number(warned.aheadMillis) > 100 && Number(warned.aheadMillis) <= AHEAD_SECONDS * 1_000);
  assert.match(String(warned.msg), new RegExp(`node ${b} .* ahead of this node's clock`));
  assert.equal(
    warnings.some((line) => line.replica === aToB && line.aheadMillis !== undefined),
    false,
    'nothing warned about on the link from a',
  );
});
