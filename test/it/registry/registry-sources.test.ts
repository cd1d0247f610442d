/**
 * The registry beyond the PostgreSQL happy path: a MariaDB source publishes through it (wire format, known ids, a
 * column added while streaming), and a registry that goes away mid-stream costs nothing: changes whose schemas
 * are already registered keep flowing, a change that needs a new schema waits (retried) until the registry is
 * back, and then every change arrives exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTcpProxy } from '../../support/tcp-proxy.ts';
import { waitFor } from '../../support/wait.ts';
import {
  assertRegistryWireFormat,
  REGISTRY,
  registry,
  replicaRows,
  startRegistryPipeline,
  useBackwardCompatibility,
  waitEqual,
} from './registry-harness.ts';

before(useBackwardCompatibility);

test('a MariaDB source publishes through the registry, a column added while streaming included', async () => {
  const setup = await startRegistryPipeline('reg_maria', { sourceKind: 'mariadb' });
  const { source } = setup;
  await waitEqual(setup, 'after the snapshot', ['id', 'name', 'qty', 'code']);

  await source.query(`INSERT INTO items (id, name, qty) VALUES (101, 'streamed', 5)`);
  await source.query(`ALTER TABLE items ADD COLUMN note text NULL`);
  await source.query(`INSERT INTO items (id, name, note) VALUES (102, 'after add', 'n')`);
  await source.query(`UPDATE items SET note = 'updated', qty = qty + 1 WHERE id = 1`);
  await source.query(`DELETE FROM items WHERE id = 2`);
  await waitEqual(setup, 'after the streamed changes', ['id', 'name', 'qty', 'code', 'note']);

  await assertRegistryWireFormat(setup, 50 + 4);
  // The table's value subject holds one version per shape: before and after the added column.
  const subjects = await registry('GET', '/subjects');
  const mine = (subjects.body as string[]).filter(
    (subject) =>
      subject.startsWith(`${setup.pipeline.topics.changelog}-`) && subject.endsWith('.items.Envelope'),
  );
  assert.equal(mine.length, 1, `value subjects of items: ${JSON.stringify(mine)}`);
  const versions = await registry('GET', `/subjects/${encodeURIComponent(mine[0]!)}/versions`);
  assert.ok((versions.body as number[]).length >= 2, `versions ${JSON.stringify(versions.body)}`);
  assert.equal(setup.running.workers()[0]?.deadLetters ?? 0, 0);
});

test('a registry outage mid-stream: known schemas flow, a new one waits for the registry, nothing is lost or doubled', async () => {
  const target = new URL(REGISTRY);
  const proxy = await startTcpProxy(target.hostname, Number(target.port));
  after(() => proxy.close());
  target.port = String(proxy.port);
  const setup = await startRegistryPipeline('reg_outage', {
    url: target.toString(),
    retryTimeoutMs: 300_000,
  });
  const { source } = setup;
  await waitEqual(setup, 'after the snapshot');

  proxy.cut();
  // Same table shape: the key and value schemas are registered and their ids cached, so no request is needed.
  for (let round = 0; round < 5; round += 1) {
    await source.query(`UPDATE items SET qty = qty + 1 WHERE id <= 10`);
    await source.query(
      `INSERT INTO items (id, name, qty) VALUES (${200 + round}, 'during outage', ${round})`,
    );
  }
  await waitEqual(setup, 'while the registry is down, for changes of known schemas');

  // A new shape needs a registration: capture retries it and publishes nothing of it meanwhile.
  await source.query(`ALTER TABLE items ADD COLUMN note text`);
  await source.query(`INSERT INTO items (id, name, note) VALUES (300, 'new shape', 'n')`);
  await source.query(`UPDATE items SET qty = qty + 100 WHERE id = 1`);
  await waitFor('capture to retry the registration a few times', () => proxy.refused >= 3, {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  const during = await replicaRows(setup, ['id']);
  assert.ok(!during.includes('300'), 'the new-shape row waits for its schema to be registered');
  assert.equal(setup.running.connectors()[0]?.lastError ?? null, null, 'capture is waiting, not failed');

  proxy.restore();
  await waitEqual(setup, 'after the registry is back');
  // Exactly once: row 1 took five +1 and one +100 on top of its snapshot qty (1).
  const qty = await setup.replica.query(`SELECT qty FROM items WHERE id = 1`);
  assert.equal(Number(qty.rows[0]?.qty), 1 + 5 + 100);
  assert.equal(setup.running.workers()[0]?.deadLetters ?? 0, 0);
});
