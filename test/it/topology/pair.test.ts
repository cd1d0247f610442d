/**
 * A bidirectional PostgreSQL pair a ⇄ b on the real stack, started from a topology configuration, with writers
 * on both sides at once on disjoint keys (conflicts are another matter). Both converge, and the loop detector
 * holds: once the writers stopped and both captures read past everything written, the changelog topics' end
 * offsets stop moving; each changelog holds only its node's own writes, each once, and each apply worker applied
 * exactly the other side's changelog (each original change applied once per node).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestDatabase } from '../../support/pg.ts';
import { tableContent } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';
import { assertNoLoop, startTopology, type TopologyStage } from './harness.ts';

const ITEMS = `CREATE TABLE items (
  id bigint PRIMARY KEY,
  owner text NOT NULL,
  n integer NOT NULL,
  note text,
  updated_at timestamptz(6) NOT NULL DEFAULT now()
)`;

let stage: TopologyStage;

before(async () => {
  stage = await startTopology('pair', 'pair', ['a', 'b'], [{ from: 'a', to: 'b' }], async (_node, { db }) => {
    await db.query(ITEMS);
  });
});

after(async () => {
  await stage.cleanup();
});

/** Inserts, updates and deletes on keys `base + 1 .. base + 200` only, in small transactions. */
async function writer(db: TestDatabase, base: number, seed: number, transactions: number): Promise<void> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  for (let i = 0; i < transactions; i++) {
    const statements: string[] = [];
    for (let s = 1 + pick(4); s > 0; s--) {
      const id = base + 1 + pick(200);
      const roll = pick(10);
      if (roll < 5)
        statements.push(
          `INSERT INTO items (id, owner, n, note) VALUES (${id}, 'w${base}-${pick(1e6)}', ${pick(1000)}, ${pick(5) === 0 ? 'NULL' : `'note ${pick(100)}'`}) ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, n = EXCLUDED.n`,
        );
      else if (roll < 8) statements.push(`UPDATE items SET n = n + 1, updated_at = now() WHERE id = ${id}`);
      else statements.push(`DELETE FROM items WHERE id = ${id}`);
    }
    await db.query(`BEGIN; ${statements.join(';\n')}; COMMIT;`);
  }
}

test('a pair with writers on both sides converges, and nothing goes round', async () => {
  const { pipeline, nodes } = stage;
  const [a, b] = [nodes.a, nodes.b].map((node) => (node?.kind === 'postgres' ? node.db : undefined));
  assert.ok(a && b);
  await waitFor(
    'both connectors to stream',
    () => pipeline.connectors().every((connector) => connector.state === 'streaming'),
    { timeoutMs: 120_000 },
  );
  const seed = Date.now() % 100_000;
  await Promise.all([writer(a, 0, seed, 150), writer(b, 100_000, seed + 1, 150)]);

  let converged: string[] | null = null;
  await waitFor(
    `a.items and b.items to be equal (seed ${seed})`,
    async () => {
      const [rowsA, rowsB] = await Promise.all([
        tableContent(a, 'items', 'id'),
        tableContent(b, 'items', 'id'),
      ]);
      converged = rowsA;
      return JSON.stringify(rowsA) === JSON.stringify(rowsB);
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const rows: string[] = converged ?? [];
  assert.ok(
    rows.some((row) => row.startsWith('(1')) && rows.some((row) => row.startsWith('(1000')),
    'the converged table should hold rows written on both sides',
  );

  await assertNoLoop(stage);
});
