/**
 * Cascade a → b → c on the real stack, started from a topology configuration: c is fed from b's changelog (b
 * re-publishes what it applied), and after a randomized workload on a, c equals a. b's changelog names a as the
 * origin of every change and carries a's commit timestamps (the replication origin set on b's apply sessions
 * makes b's commits keep a's time) and a's commit positions (originCommit), so c knows where and when each
 * change was first written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatCommit } from '../../../schemas/positions/position.ts';
import { positionProblems, readChangelog } from '../../support/changelog.ts';
import { tableContent } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { WORKLOAD_SCHEMA, runWorkload } from '../../support/workload.ts';
import { startTopology, waitStreaming, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'cascade',
    'cascade',
    ['a', 'b', 'c'],
    [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ],
    async (node, { kind, db }) => {
      if (node !== 'a' || kind !== 'postgres') return;
      await db.query(WORKLOAD_SCHEMA);
      await db.query(
        `INSERT INTO accounts (id, owner, balance) SELECT g, 'pre-' || g, g * 1.5 FROM generate_series(1, 300) g`,
      );
    },
  );
});

after(async () => {
  await stage.cleanup();
});

test('c equals a after a randomized workload on a, and b re-publishes it naming a with its commit times', async () => {
  const { pipeline, nodes } = stage;
  const [a, c] = [nodes.a, nodes.c].map((node) => (node?.kind === 'postgres' ? node.db : undefined));
  assert.ok(a && c);
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  const committed = await runWorkload(a, { transactions: 150, seed, truncates: false });

  for (const [table, order] of [
    ['accounts', 'id'],
    ['events', 'seq'],
  ] as const) {
    const expected = await tableContent(a, table, order);
    await waitFor(
      `c.${table} to equal a.${table} (seed ${seed}, ${committed} transactions)`,
      async () => JSON.stringify(await tableContent(c, table, order)) === JSON.stringify(expected),
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }

  const fromA = await readChangelog(stage.prefix, stage.changelog('a'));
  const fromB = await readChangelog(stage.prefix, stage.changelog('b'));
  assert.ok(fromB.length > 0, 'b published nothing');
  assert.deepEqual(positionProblems(fromB), [], 'b published a change twice or out of order');
  const aName = nodes.a?.name;
  const notFromA = fromB.filter((item) => item.event.source.origin !== aName);
  assert.deepEqual(
    notFromA.map((item) => `${item.offset}: origin ${String(item.event.source.origin)}`),
    [],
    `every change b re-published should name ${aName} as its origin`,
  );
  // b groups several of a's transactions into one target transaction; its commit keeps the time of the last one.
  const aTimes = new Set(fromA.map((item) => item.event.source.commitTimeMicros));
  const foreignTimes = fromB.filter((item) => !aTimes.has(item.event.source.commitTimeMicros));
  assert.deepEqual(
    foreignTimes.map((item) => `${item.offset}: ${item.event.source.commitTimeMicros}`),
    [],
    "b's events should carry a's commit times, not b's own",
  );
  // ... and where a committed it: the commit position of one of a's transactions.
  const aCommits = new Set(fromA.map((item) => formatCommit(item.event.source.position.commit)));
  const unplaced = fromB.filter((item) => {
    const origin = item.event.source.originCommit;
    return origin === undefined || !aCommits.has(formatCommit(origin));
  });
  assert.deepEqual(
    unplaced.map(
      (item) =>
        `${item.offset}: ${String(item.event.source.originCommit && formatCommit(item.event.source.originCommit))}`,
    ),
    [],
    "b's events should carry the commit position of a's transaction as originCommit",
  );
  // Nothing b re-published was left behind or doubled on its way to c.
  const bToC = pipeline.workers().find((worker) => worker.source === nodes.b?.name);
  assert.equal(bToC?.eventsApplied, fromB.length);
});
