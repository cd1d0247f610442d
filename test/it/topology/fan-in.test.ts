/**
 * Fan-in on the real stack: shards with the same table and disjoint keys into one replica, from a topology
 * configuration. Each shard is a link of its own, with its own applied position in the replica, so a shard is
 * added, and another removed, by restarting with other links, and the shards already there are not copied again:
 * their apply workers apply nothing they had applied before.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tableContent, type TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { startTopology, waitStreaming, writeOwnKeys, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'fanin',
    'fan-in',
    ['s1', 's2', 'hub'],
    [{ from: 's1', to: 'hub' }],
    async (node, { db }) => {
      if (node === 'hub') return;
      await db.query(
        'CREATE TABLE items (id bigint PRIMARY KEY, owner text NOT NULL, n integer NOT NULL, note text)',
      );
    },
  );
});

after(async () => {
  await stage.cleanup();
});

const pgOf = (short: string): TestDatabase => {
  const node = stage.nodes[short];
  assert.ok(node?.kind === 'postgres');
  return node.db;
};

/** Waits until the hub holds exactly the union of the given shards' rows. */
async function hubHolds(shards: readonly string[], when: string): Promise<void> {
  const expected = (await Promise.all(shards.map((short) => tableContent(pgOf(short), 'items', 'id'))))
    .flatMap((rows) => rows ?? [])
    .sort((a, b) => Number(/^\((\d+)/.exec(a)?.[1]) - Number(/^\((\d+)/.exec(b)?.[1]));
  await waitFor(
    `the hub to hold the rows of ${shards.join(' and ')} ${when}`,
    async () => JSON.stringify(await tableContent(pgOf('hub'), 'items', 'id')) === JSON.stringify(expected),
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}

const worker = (from: string) => stage.pipeline.workers().find((w) => w.source === stage.nodes[from]?.name);

test('a shard is added, and another removed, without copying the others again', async () => {
  const seed = Date.now() % 100_000;
  const [s1, s2] = [stage.nodes.s1, stage.nodes.s2];
  assert.ok(s1 && s2);
  await waitStreaming(stage);
  await Promise.all([writeOwnKeys(s1, 0, seed, 60), writeOwnKeys(s2, 100_000, seed + 1, 60)]);
  await hubHolds(['s1'], 'with only s1 linked');

  // Adding s2: its rows arrive by its snapshot; s1's link goes on where it was and applies nothing again.
  await stage.restart([
    { from: 's1', to: 'hub' },
    { from: 's2', to: 'hub' },
  ]);
  await waitStreaming(stage);
  await hubHolds(['s1', 's2'], `after adding s2 (seed ${seed})`);
  assert.equal(worker('s1')?.eventsApplied, 0, "s1's link applied its changes again after s2 was added");

  // Removing s1: s2's link goes on from where it was; only its new changes are applied.
  await stage.restart([{ from: 's2', to: 'hub' }]);
  await waitStreaming(stage);
  await writeOwnKeys(s2, 100_000, seed + 2, 20);
  await hubHolds(['s1', 's2'], `after removing s1 and writing on s2 (seed ${seed})`);
  // At most 4 row changes per transaction: anything more would be s2's earlier changes applied again.
  const applied = worker('s2')?.eventsApplied ?? 0;
  assert.ok(applied > 0 && applied <= 20 * 4, `s2's link applied ${applied} events for 20 new transactions`);
});
