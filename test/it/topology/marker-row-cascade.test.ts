/**
 * A cascade a → b → c whose link into b marks with marker rows (`originMarking: marker-row` on b), and whose
 * capture of b publishes transactions of more than 40 events in pieces. A transaction of 500 rows written on a
 * reaches b whole, so b's capture reads one marker row and then 500 changes across many pieces: every change b
 * re-publishes names a, with a's commit time and position, the marker row never reaches the changelog, and c
 * ends equal to a.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatCommit } from '../../../schemas/positions/position.ts';
import { positionProblems, readChangelog } from '../../support/changelog.ts';
import { tableContent } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { ITEMS_TABLE, startTopology, waitStreaming, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'markcas',
    'cascade',
    ['a', 'b', 'c'],
    [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ],
    async (node, { db }) => {
      if (node === 'a') await db.query(ITEMS_TABLE);
    },
    [],
    {
      nodes: (short) =>
        short === 'b' ? { originMarking: 'marker-row', capture: { maxTransactionEvents: 40 } } : {},
    },
  );
});

after(async () => {
  await stage.cleanup();
});

test('b re-publishes a marked transaction published in pieces under a, with its commit time and position', async () => {
  const { nodes } = stage;
  const [a, b, c] = [nodes.a, nodes.b, nodes.c].map((node) =>
    node?.kind === 'postgres' ? node.db : undefined,
  );
  assert.ok(a && b && c);
  await waitStreaming(stage);
  await a.query(
    `INSERT INTO items (id, owner, n) SELECT g, 'big', g FROM generate_series(1, 500) g; UPDATE items SET n = 0 WHERE id = 1`,
  );
  for (let i = 0; i < 5; i++) await a.query(`UPDATE items SET n = n + 1 WHERE id <= ${10 * (i + 1)}`);

  const expected = await tableContent(a, 'items', 'id');
  await waitFor(
    'c.items to equal a.items',
    async () => JSON.stringify(await tableContent(c, 'items', 'id')) === JSON.stringify(expected),
    { timeoutMs: 180_000, intervalMs: 500 },
  );

  const fromA = await readChangelog(stage.prefix, stage.changelog('a'));
  const fromB = await readChangelog(stage.prefix, stage.changelog('b'));
  assert.deepEqual(positionProblems(fromB), [], 'b published a change twice or out of order');
  assert.equal(fromB.length, fromA.length, 'b should re-publish each change of a once');
  assert.ok(
    fromB.some((item) => item.event.transaction?.total === null),
    "b's capture should have published a transaction in pieces",
  );
  assert.deepEqual(
    fromB.filter((item) => item.event.table.schema === 'cdc_apply').map((item) => item.offset),
    [],
    "b's changelog holds marker rows",
  );
  const aName = nodes.a?.name;
  assert.deepEqual(
    fromB
      .filter((item) => item.event.source.origin !== aName)
      .map((item) => `${item.offset}: origin ${String(item.event.source.origin)}`),
    [],
    `every change b re-published should name ${aName} as its origin`,
  );
  const aTimes = new Set(fromA.map((item) => item.event.source.commitTimeMicros));
  assert.deepEqual(
    fromB
      .filter((item) => !aTimes.has(item.event.source.commitTimeMicros))
      .map((item) => `${item.offset}: ${item.event.source.commitTimeMicros}`),
    [],
    "b's events should carry a's commit times, not b's own",
  );
  const aCommits = new Set(fromA.map((item) => formatCommit(item.event.source.position.commit)));
  assert.deepEqual(
    fromB
      .filter((item) => {
        const origin = item.event.source.originCommit;
        return origin === undefined || !aCommits.has(formatCommit(origin));
      })
      .map((item) => item.offset),
    [],
    "b's events should carry the commit position of a's transaction as originCommit",
  );
  const marks = await b.query<{ count: string }>('SELECT count(*) AS count FROM cdc_apply.origin_marks');
  assert.equal(marks.rows[0]?.count, '1', 'the marker table should hold one row for the one link into b');
});
