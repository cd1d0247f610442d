/**
 * A bidirectional PostgreSQL pair a ⇄ b on the real stack, started from a topology configuration, with writers
 * on both sides at once on disjoint keys (conflicts are another matter). Both converge, and the loop detector
 * holds: once the writers stopped and both captures read past everything written, the changelog topics' end
 * offsets stop moving; each changelog holds only its node's own writes, each once, and each apply worker applied
 * exactly the other side's changelog (each original change applied once per node).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertItemsConverge,
  assertNoLoop,
  ITEMS_TABLE,
  startTopology,
  waitStreaming,
  writeOwnKeys,
  type TopologyStage,
} from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology('pair', 'pair', ['a', 'b'], [{ from: 'a', to: 'b' }], async (_node, { db }) => {
    await db.query(ITEMS_TABLE);
  });
});

after(async () => {
  await stage.cleanup();
});

test('a pair with writers on both sides converges, and nothing goes round', async () => {
  const { nodes } = stage;
  const [a, b] = [nodes.a, nodes.b].map((node) => (node?.kind === 'postgres' ? node.db : undefined));
  assert.ok(a && b && nodes.a && nodes.b);
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([writeOwnKeys(nodes.a, 0, seed, 150), writeOwnKeys(nodes.b, 100_000, seed + 1, 150)]);

  await assertItemsConverge(a, b, seed);

  await assertNoLoop(stage);
});
