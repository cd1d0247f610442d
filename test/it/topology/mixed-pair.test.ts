/**
 * A mixed pair PostgreSQL ⇄ MariaDB on the real stack, from a topology configuration, with writers on both sides
 * at once on disjoint keys. PostgreSQL marks what it applies with the link's replication origin, MariaDB with the
 * link's session server_id; each capture drops what came from the other side. Both converge, and the loop
 * detector holds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MariadbTestDatabase } from '../../support/mariadb.ts';
import type { TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';
import { assertNoLoop, startTopology, type TopologyStage } from './harness.ts';

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

type Writable = Pick<TestDatabase | MariadbTestDatabase, 'query'>;

/** Inserts, updates and deletes on keys `base + 1 .. base + 200` only, one small transaction at a time. */
async function writer(db: Writable, kind: 'postgres' | 'mariadb', base: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const upsert =
    kind === 'postgres'
      ? 'ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, n = EXCLUDED.n'
      : 'ON DUPLICATE KEY UPDATE owner = VALUES(owner), n = VALUES(n)';
  for (let i = 0; i < 120; i++) {
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
    await db.query(`BEGIN; ${statements.join(';\n')}; COMMIT;`);
  }
}

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
  const { pipeline, nodes } = stage;
  const [p, m] = [nodes.p, nodes.m];
  assert.ok(p?.kind === 'postgres' && m?.kind === 'mariadb');
  await waitFor(
    'both connectors to stream',
    () => pipeline.connectors().every((connector) => connector.state === 'streaming'),
    { timeoutMs: 120_000 },
  );
  const seed = Date.now() % 100_000;
  await Promise.all([writer(p.db, 'postgres', 0, seed), writer(m.db, 'mariadb', 100_000, seed + 1)]);

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
