/**
 * A cascade through a MariaDB tier, PostgreSQL a → MariaDB m → PostgreSQL c, from a topology configuration: m's
 * capture recognizes what the link a → m wrote by the link's session server_id and re-publishes it naming a as
 * the origin; c, fed from m's changelog, ends equal to a.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readChangelog } from '../../support/changelog.ts';
import { tableContent } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { startTopology, waitStreaming, writeOwnKeys, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'mcascade',
    'cascade',
    ['a', 'm', 'c'],
    [
      { from: 'a', to: 'm' },
      { from: 'm', to: 'c' },
    ],
    async (node, { kind, db }) => {
      if (node === 'a' && kind === 'postgres')
        await db.query(
          'CREATE TABLE items (id bigint PRIMARY KEY, owner varchar(100) NOT NULL, n integer NOT NULL, note varchar(100))',
        );
    },
    ['m'],
  );
});

after(async () => {
  await stage.cleanup();
});

test('c equals a through a MariaDB tier, which re-publishes naming a as the origin', async () => {
  const { nodes } = stage;
  const [a, c] = [nodes.a, nodes.c];
  assert.ok(a?.kind === 'postgres' && c?.kind === 'postgres');
  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await writeOwnKeys(a, 0, seed, 100);
  const expected = await tableContent(a.db, 'items', 'id');
  await waitFor(
    `c.items to equal a.items (seed ${seed})`,
    async () => JSON.stringify(await tableContent(c.db, 'items', 'id')) === JSON.stringify(expected),
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const fromM = await readChangelog(stage.prefix, stage.changelog('m'));
  assert.ok(fromM.length > 0, 'm published nothing');
  assert.deepEqual(
    fromM
      .filter((item) => item.event.source.origin !== a.name)
      .map((item) => `${item.offset}: origin ${String(item.event.source.origin)}`),
    [],
    `every change m re-published should name ${a.name} as its origin`,
  );
});
