/**
 * A mixed pair PostgreSQL ⇄ MariaDB on the real stack, from a topology configuration, with writers on both sides
 * at once on disjoint keys. PostgreSQL marks what it applies with the link's replication origin, MariaDB with the
 * link's session server_id; each capture drops what came from the other side. Both converge, and the loop
 * detector holds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertMixedItemsConverge,
  assertNoLoop,
  startTopology,
  waitStreaming,
  writeOwnKeys,
  type TopologyStage,
} from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'mixed',
    'pair',
    ['p', 'm'],
    [{ from: 'p', to: 'm' }],
    async (_node, { kind, db }) => {
      await db.query(
        kind === 'postgres'
          ? 'CREATE TABLE items (id bigint PRIMARY KEY, owner varchar(100) NOT NULL, n integer NOT NULL, note varchar(100))'
          : 'CREATE TABLE items (id bigint PRIMARY KEY, owner varchar(100) NOT NULL, n int NOT NULL, note varchar(100))',
      );
    },
    ['m'],
  );
});

after(async () => {
  await stage.cleanup();
});

test('a PostgreSQL ⇄ MariaDB pair with writers on both sides converges, and nothing goes round', async () => {
  const { nodes } = stage;
  const [p, m] = [nodes.p, nodes.m];
  assert.ok(p?.kind === 'postgres' && m?.kind === 'mariadb');
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([writeOwnKeys(p, 0, seed, 120), writeOwnKeys(m, 100_000, seed + 1, 120)]);

  await assertMixedItemsConverge(p, m, seed);
  await assertNoLoop(stage);
});
