/**
 * Two regions with their own Kafka clusters: a bidirectional PostgreSQL pair a ⇄ b where region one's capture
 * publishes a's changes to cluster one (the stack's Kafka) and region two's publishes b's to cluster two (a
 * second broker on other ports). MirrorMaker 2 mirrors each region's topics into the other cluster (default
 * replication policy: `<region>.<topic>`), and each region's apply worker reads the other's mirrored changelog
 * and schema topic from its own cluster (`links[].apply.via.topicPrefix`). Each region runs as `cdc run
 * --region` would, from the same topology.
 *
 * With writers on both sides on disjoint keys: both databases end equal; the audit trail of each node, for the
 * other node's keys, equals the other node's own trail (each change applied once, in commit order, through the
 * mirror); the mirrored topics hold the origin's events in the same order, none twice; nothing goes round.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { createLogger } from '../../../common/logger.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { auditTrail, installAudit } from '../../support/audit.ts';
import { readRaw } from '../../support/raw-topic.ts';
import { deleteKafkaState, positionProblems, readChangelog, topicEnd } from '../../support/changelog.ts';
import { adminQuery, createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { writeOwnKeys } from '../topology/harness.ts';
import {
  kafkaLeftovers,
  mirrorMakerMissing,
  secondKafkaBrokers,
  startMirrorMaker,
  startSecondKafka,
  stopSecondKafka,
  type RunningMirrorMaker,
} from './mirror-stack.ts';

const ITEMS = `CREATE TABLE items (
  id bigint PRIMARY KEY,
  owner text NOT NULL,
  n integer NOT NULL,
  note text,
  updated_at timestamptz(6) NOT NULL DEFAULT now()
)`;
/** b's writers use keys above this, a's below. */
const B_KEYS = 100_000;

const missing = await mirrorMakerMissing();
const suffix = randomBytes(3).toString('hex');
const prefix = uniqueName('regions').replaceAll('_', '-');
// Region names are MirrorMaker 2's cluster aliases, so the mirror of a region's topic is `<region>.<topic>`.
const regions = { one: `one-${suffix}`, two: `two-${suffix}` } as const;
const clusters = { [regions.one]: stack.kafkaBrokers, [regions.two]: secondKafkaBrokers };
const names = { a: `a-${suffix}`, b: `b-${suffix}` } as const;

let a: TestDatabase;
let b: TestDatabase;
let mirror: RunningMirrorMaker | undefined;
const running: { config: PipelineConfig; pipeline: RunningPipeline }[] = [];

/** Region `region`'s configuration: its cluster, and the other region's mirrored topics for the link into it. */
function regionConfig(region: string, other: string): PipelineConfig {
  return parseConfig(
    JSON.stringify({
      name: `${prefix}-${region}`,
      kafka: { brokers: clusters[region], topicPrefix: prefix },
      topology: {
        shape: 'pair',
        nodes: [
          { name: names.a, region: regions.one, url: a.url, slot: 'a' },
          { name: names.b, region: regions.two, url: b.url, slot: 'b' },
        ].map((node) => ({
          name: node.name,
          kind: 'postgres',
          region: node.region,
          url: node.url,
          capture: { slot: uniqueName(`slot_${node.slot}`), heartbeatIntervalMs: 500 },
        })),
        // This region runs only the direction into its own node, whose changelog comes from `other`. The
        // writers keep to keys of their own, so there is nothing for conflict handling to do; it is off so that
        // this test is about the mirror only (conflicts have tests of their own under test/it/convergence).
        links: [
          {
            from: names.a,
            to: names.b,
            apply: { via: { topicPrefix: `${other}.${prefix}` }, conflicts: { enabled: false } },
          },
        ],
      },
      api: { port: 0 },
    }),
    'json',
    { env: {} },
  );
}

before(async () => {
  if (missing !== null) return;
  await startSecondKafka();
  a = await createDatabase('regions_a');
  b = await createDatabase('regions_b');
  for (const db of [a, b]) {
    await db.query(ITEMS);
    await installAudit(db, [{ name: 'items', key: 'id' }]);
  }
  const topics = `${prefix.replaceAll('.', '\\.')}\\..*`;
  mirror = await startMirrorMaker({
    name: `mirror-maker-${suffix}`,
    clusters,
    flows: [
      { from: regions.one, to: regions.two, topics },
      { from: regions.two, to: regions.one, topics },
    ],
  });
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  for (const [region, other] of [
    [regions.one, regions.two],
    [regions.two, regions.one],
  ] as const) {
    const config = regionConfig(region, other);
    running.push({ config, pipeline: await startPipeline(config, logger, { region }) });
  }
});

after(async () => {
  if (missing !== null) return;
  for (const { pipeline } of running) await pipeline.stop();
  await mirror?.stop();
  for (const db of [a, b]) await db?.drop();
  for (const marker of running.flatMap(({ config }) => config.topology?.links ?? []).map((l) => l.marker))
    if (marker !== null)
      await adminQuery(
        'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
        [marker],
      );
  // The changelog, schema and mirrored topics, MirrorMaker's internal topics (and the `heartbeats` topic it
  // creates in every cluster even with heartbeats off) and every group of this run.
  for (const brokers of Object.values(clusters)) {
    const { topics, groups } = await kafkaLeftovers(brokers, [prefix, regions.one, regions.two]);
    await deleteKafkaState([...topics, 'heartbeats'], groups, undefined, brokers);
  }
  await stopSecondKafka();
});

const region = (name: string) => running.find(({ config }) => config.name === `${prefix}-${name}`);

test(
  'a pair across two Kafka clusters mirrored by MirrorMaker 2 converges, each change applied once and in order',
  { skip: missing ?? false },
  async () => {
    const one = region(regions.one);
    const two = region(regions.two);
    assert.ok(one && two);
    await waitFor(
      'both captures to stream',
      () => [one, two].every(({ pipeline }) => pipeline.connectors().every((c) => c.state === 'streaming')),
      { timeoutMs: 120_000 },
    );
    const seed = Date.now() % 100_000;
    await Promise.all([
      writeOwnKeys({ kind: 'postgres', db: a }, 0, seed, 150),
      writeOwnKeys({ kind: 'postgres', db: b }, B_KEYS, seed + 1, 150),
    ]);

    const workers = () => JSON.stringify([one, two].flatMap(({ pipeline }) => pipeline.workers()));
    try {
      await waitFor(
        `a.items and b.items to be equal (seed ${seed})`,
        async () => {
          const [rowsA, rowsB] = await Promise.all([
            tableContent(a, 'items', 'id'),
            tableContent(b, 'items', 'id'),
          ]);
          return rowsA !== null && rowsA.length > 0 && JSON.stringify(rowsA) === JSON.stringify(rowsB);
        },
        { timeoutMs: 150_000, intervalMs: 500 },
      );
    } catch (error) {
      // Where it stands, to tell a mirror that did not deliver from a worker that did not apply.
      const [rowsA, rowsB] = await Promise.all([
        tableContent(a, 'items', 'id'),
        tableContent(b, 'items', 'id'),
      ]);
      const onlyA = (rowsA ?? []).filter((row) => !(rowsB ?? []).includes(row));
      const onlyB = (rowsB ?? []).filter((row) => !(rowsA ?? []).includes(row));
      throw new Error(
        `${(error as Error).message}; workers: ${workers()}; rows only in a: ${onlyA.slice(0, 10).join(' ')}; only in b: ${onlyB.slice(0, 10).join(' ')}`,
        { cause: error },
      );
    }

    // Nothing was set aside on the way: an event read from the mirror before its schema waits for it.
    assert.deepEqual(
      [one, two].flatMap(({ pipeline }) => pipeline.workers().map((worker) => worker.deadLetters)),
      [0, 0],
      `dead letters: ${workers()}`,
    );
    // Each node applied the other's changes once each and in the other's commit order.
    const [trailA, trailB] = await Promise.all([auditTrail(a), auditTrail(b)]);
    const keysOf = (trail: string[], fromB: boolean) =>
      trail.filter((line) => Number(line.split(' ')[2]) >= B_KEYS === fromB);
    assert.ok(keysOf(trailA, false).length > 0 && keysOf(trailB, true).length > 0);
    assert.deepEqual(
      keysOf(trailB, false),
      keysOf(trailA, false),
      "b's trail of a's keys differs from a's own",
    );
    assert.deepEqual(
      keysOf(trailA, true),
      keysOf(trailB, true),
      "a's trail of b's keys differs from b's own",
    );

    // Nothing goes round: with the writers stopped, the changelogs stop growing (checked again at the end, after
    // the captures' heartbeats read past everything the apply workers wrote).
    const changelogs = [
      { topic: connectorTopics(prefix, names.a).changelog, brokers: one.config.kafka.brokers },
      { topic: connectorTopics(prefix, names.b).changelog, brokers: two.config.kafka.brokers },
    ];
    const ends = await Promise.all(changelogs.map(({ topic, brokers }) => topicEnd(topic, brokers)));

    for (const [node, home, away, other] of [
      [names.a, one, two, regions.one],
      [names.b, two, one, regions.two],
    ] as const) {
      const topic = connectorTopics(prefix, node).changelog;
      const brokers = home.config.kafka.brokers;
      const origin = await readChangelog(prefix, topic, 60_000, brokers);
      assert.deepEqual(positionProblems(origin), [], `${node}'s changelog repeats or reorders a change`);
      assert.deepEqual(
        origin.filter((item) => item.event.source.origin !== null).map((item) => item.offset),
        [],
        `${node} re-published changes it received from the other region`,
      );
      // The mirror holds the same events in the same order (at other offsets: transaction markers are not copied).
      const mirrored = await readChangelog(
        `${other}.${prefix}`,
        `${other}.${topic}`,
        60_000,
        away.config.kafka.brokers,
      );
      const positions = (events: typeof origin) =>
        events.map((item) => formatPosition(item.event.source.position));
      assert.deepEqual(positions(mirrored), positions(origin), `the mirror of ${topic} differs from it`);
      const worker = away.pipeline.workers().find((w) => w.source === node);
      assert.equal(worker?.eventsApplied, origin.length, `${node}'s changes were not each applied once`);
    }
    assert.deepEqual(
      await Promise.all(changelogs.map(({ topic, brokers }) => topicEnd(topic, brokers))),
      ends,
      'a changelog kept growing with every writer stopped: a loop',
    );
  },
);

test('records of an aborted Kafka transaction are not mirrored', { skip: missing ?? false }, async () => {
  // What a capture that crashed in the middle of a Kafka transaction leaves behind, written here directly: the
  // mirror must carry the committed records only, since on the target they are no longer transactional.
  const topic = `${prefix}.aborted-probe`;
  const source = createKafka({ brokers: clusters[regions.one] ?? [], clientId: 'test-regions-probe' });
  const admin = source.admin();
  const producer = source.producer({
    transactionalId: `${prefix}.probe`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    for (const [value, commit] of [
      ['committed-1', true],
      ['aborted', false],
      ['committed-2', true],
    ] as const) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ value }] });
      await (commit ? transaction.commit() : transaction.abort());
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  // On the target the mirrored records are plain (not transactional): every reader sees all of them.
  const mirrored = `${regions.one}.${topic}`;
  await waitFor(
    `${mirrored} to be created`,
    async () => (await topicEnd(mirrored, clusters[regions.two])) > 0n,
    {
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  );
  const values = (
    await readRaw(mirrored, (messages) => messages.length >= 2, 60_000, clusters[regions.two])
  ).map((message) => message.value?.toString('utf8'));
  assert.equal(
    await topicEnd(mirrored, clusters[regions.two]),
    2n,
    `${mirrored} holds more than the committed records`,
  );
  assert.deepEqual(values, ['committed-1', 'committed-2']);
});
