/**
 * A topology link paused through the API is a network partition: with `a-to-b` paused, a's writes reach Kafka
 * (a's changelog grows) but not b, while b's own writes still reach a; `/status` names the link and shows it
 * paused. Resumed, b catches up with everything a wrote meanwhile, and the pair is equal again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { topicEnd } from '../../support/changelog.ts';
import { tableContent, type TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { startTopology, waitStreaming, type TopologyStage } from '../topology/harness.ts';

let stage: TopologyStage;
let a: TestDatabase;
let b: TestDatabase;

before(async () => {
  stage = await startTopology(
    'partition',
    'pair',
    ['a', 'b'],
    [{ from: 'a', to: 'b' }],
    async (_node, { db }) => {
      await db.query(`CREATE TABLE items (id bigint PRIMARY KEY, val text NOT NULL)`);
    },
  );
  const [nodeA, nodeB] = [stage.nodes.a, stage.nodes.b];
  assert.ok(nodeA?.kind === 'postgres' && nodeB?.kind === 'postgres');
  [a, b] = [nodeA.db, nodeB.db];
});

after(async () => {
  await stage.cleanup();
});

async function post(path: string): Promise<{ name: string; state: string }> {
  const response = await fetch(`${stage.pipeline.apiUrl}${path}`, { method: 'POST' });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as { name: string; state: string };
}

const rows = async (db: TestDatabase) => JSON.stringify(await tableContent(db, 'items', 'id'));

test('pausing a link cuts one direction of a pair off; resuming heals it', async () => {
  await waitStreaming(stage);
  const link = `${stage.nodes.a?.name}-to-${stage.nodes.b?.name}`;
  const back = `${stage.nodes.b?.name}-to-${stage.nodes.a?.name}`;
  const status = (await (await fetch(`${stage.pipeline.apiUrl}/status`)).json()) as {
    workers: { name: string }[];
  };
  assert.deepEqual(status.workers.map((w) => w.name).sort(), [link, back].sort(), '/status names both links');

  for (let twice = 0; twice < 2; twice++) {
    const paused = await post(`/workers/${link}/pause`);
    assert.deepEqual([paused.name, paused.state], [link, 'paused'], 'pausing is idempotent');
  }
  const before = await topicEnd(stage.changelog('a'));
  await a.query(`INSERT INTO items VALUES (1, 'written on a while cut off')`);
  await b.query(`INSERT INTO items VALUES (2, 'written on b while cut off')`);
  await waitFor("b's write to reach a over the other link", async () => (await rows(a)).includes('(2,'));
  await waitFor(
    "a's write to reach a's changelog",
    async () => (await topicEnd(stage.changelog('a'))) > before,
  );
  assert.ok(!(await rows(b)).includes('(1,'), 'a paused link must not deliver a change');

  const resumed = await post(`/workers/${link}/resume`);
  assert.equal(resumed.name, link);
  await waitFor(
    'b to catch up with a after the link was resumed',
    async () => (await rows(a)) === (await rows(b)),
  );
  assert.equal(
    await rows(b),
    JSON.stringify(['(1,"written on a while cut off")', '(2,"written on b while cut off")']),
  );
});
