/**
 * A three-region PostgreSQL mesh a ⇄ b ⇄ c ⇄ a on the real stack, from a topology configuration, with writers
 * in all three regions at once on keys of their own. Every node converges to the same rows, and the loop
 * detector holds: each changelog holds only its node's writes, each applied once on each of the other two.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tableContent } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { assertNoLoop, startTopology, waitStreaming, writeOwnKeys, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'mesh',
    'mesh',
    ['a', 'b', 'c'],
    [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'a' },
    ],
    async (_node, { db }) => {
      await db.query(
        'CREATE TABLE items (id bigint PRIMARY KEY, owner text NOT NULL, n integer NOT NULL, note text)',
      );
    },
  );
});

after(async () => {
  await stage.cleanup();
});

test('a three-region mesh with writers everywhere converges, and nothing goes round', async () => {
  const { nodes } = stage;
  const [a, b, c] = [nodes.a, nodes.b, nodes.c];
  assert.ok(a?.kind === 'postgres' && b?.kind === 'postgres' && c?.kind === 'postgres');
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([
    writeOwnKeys(a, 0, seed, 100),
    writeOwnKeys(b, 100_000, seed + 1, 100),
    writeOwnKeys(c, 200_000, seed + 2, 100),
  ]);

  let rows: string[] = [];
  await waitFor(
    `a, b and c to hold the same items (seed ${seed})`,
    async () => {
      const all = await Promise.all([a, b, c].map((node) => tableContent(node.db, 'items', 'id')));
      rows = all[0] ?? [];
      return all.every((content) => JSON.stringify(content) === JSON.stringify(all[0]));
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  for (const base of ['(1', '(1000', '(2000'])
    assert.ok(
      rows.some((row) => row.startsWith(base)),
      `no row of the writer at ${base}... reached every node`,
    );
  await assertNoLoop(stage);
});
