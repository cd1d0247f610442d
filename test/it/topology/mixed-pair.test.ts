/**
 * A mixed pair PostgreSQL ⇄ MariaDB on the real stack, from a topology configuration, with writers on both sides
 * at once on disjoint keys. PostgreSQL marks what it applies with the link's replication origin, MariaDB with the
 * link's session server_id; each capture drops what came from the other side. Both converge, and the loop
 * detector holds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../support/wait.ts';
import { assertNoLoop, startTopology, waitStreaming, writeOwnKeys, type TopologyStage } from './harness.ts';

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

/** The rows as `[id, owner, n, note]` text, the same for either database. */
async function rowsOf(node: 'p' | 'm'): Promise<string> {
  const handle = stage.nodes[node];
  assert.ok(handle);
  const sql = 'SELECT id, owner, n, note FROM items ORDER BY id';
  const rows =
    handle.kind === 'postgres'
      ? (await handle.db.query(sql)).rows.map((row) => row as Record<string, unknown>)
      : await handle.db.query(sql);
  return JSON.stringify(
    rows.map((row) =>
      [row.id, row.owner, row.n, row.note].map((v) =>
        v === null || v === undefined ? null : String(v as string),
      ),
    ),
  );
}

test('a PostgreSQL ⇄ MariaDB pair with writers on both sides converges, and nothing goes round', async () => {
  const { nodes } = stage;
  const [p, m] = [nodes.p, nodes.m];
  assert.ok(p?.kind === 'postgres' && m?.kind === 'mariadb');
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([writeOwnKeys(p, 0, seed, 120), writeOwnKeys(m, 100_000, seed + 1, 120)]);

  let converged = '[]';
  await waitFor(
    `p.items and m.items to be equal (seed ${seed})`,
    async () => {
      const [rowsP, rowsM] = await Promise.all([rowsOf('p'), rowsOf('m')]);
      converged = rowsP;
      return rowsP === rowsM;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const ids = (JSON.parse(converged) as string[][]).map((row) => Number(row[0]));
  assert.ok(
    ids.some((id) => id <= 200) && ids.some((id) => id > 100_000),
    'the converged table should hold rows written on both sides',
  );
  await assertNoLoop(stage);
});
