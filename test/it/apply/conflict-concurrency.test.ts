/**
 * Conflict handling when two sessions write one key of a node at once: a local session and a link, or two links
 * of a mesh. Each race is held open for real (a session keeps its transaction open on the node until the other
 * is seen waiting on a lock), so what each read sees does not depend on timing. Found by the mesh hot-key
 * convergence runs (test/it/convergence/mesh.test.ts), where a key ended present on one node only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresConnection } from '../../../services/apply/postgres/postgres-connection.ts';
import { silentLogger } from '../../../common/logger.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  applyAs,
  conflicts,
  configure,
  itemsTable,
  pick,
  regions,
  replicate,
  rowOf,
  seed,
  sinkInto,
  useTwoRegions,
} from './conflict-regions.ts';

useTwoRegions();

/** Source positions of the link from c. */
let lsn = 0x1_0000n;

/** Sessions of node a waiting for a lock (a row lock, or a key lock of the sink). */
async function waitingOnA(): Promise<number> {
  const [row] = await regions.a.db.query(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return Number(row!.n);
}

/** A session of node a with a transaction open, running `text` in it. */
async function holding(text: string): Promise<PostgresConnection> {
  const session = await PostgresConnection.open(regions.a.db.url, silentLogger);
  await session.run({ text: 'BEGIN', values: [] });
  await session.run({ text, values: [] });
  return session;
}

void describe('concurrent writes to one key', () => {
  void test('a change waiting for a local delete of its row sees that delete once it commits: an older update does not bring the row back', async () => {
    await configure({});
    const table = itemsTable();
    const seeded = { id: 1n, qty: 0, note: 'x' };
    await seed(table, [seeded]);
    const deleting = await holding(`DELETE FROM public."${table.table}" WHERE id = 1`);
    // b updated the row a moment ago; a's delete commits after it, so it is the later write and stands.
    const updatedOnB = BigInt(Date.now() - 1_000) * 1_000n;
    const applying = replicate('b', updatedOnB, [
      { op: 'u', table, before: seeded, after: { id: 1n, qty: 5, note: 'b' } },
    ]);
    await waitFor('the link into a to wait for the row lock', async () => (await waitingOnA()) === 1);
    await deleting.run({ text: 'COMMIT', values: [] });
    await deleting.close();
    assert.deepEqual(await applying, []);
    assert.equal(await rowOf('a', table, 1), null, 'the later local delete stands on a');
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'update_missing', policy: 'last-writer-wins', outcome: 'skipped' },
    ]);
  });

  void test('two links into one node: an insert of a key from one waits for the other delete of it, and the later of the two wins', async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [{ id: 2n, qty: 0, note: 'x' }]);
    // A second link into a, from a third node c, beside the link from b.
    const origin = uniqueName('cdc_c__a');
    const fromC = sinkInto({ node: 'a', db: regions.a.db, origin }, {}, 'c');
    // The link from c writes the table once first: preparing it (its triggers) would wait for b's transaction.
    await applyAs(fromC, 'c', (lsn += 0x100n), 1_600_000_000_000_000n, [
      { op: 'c', table, after: { id: 4n, qty: 0, note: 'c' } },
    ]);
    // A local session holds row 2, so b's transaction (a delete of key 3, never on a, then an update of row 2)
    // stays open after it wrote key 3's tombstone.
    const holder = await holding(`SELECT 1 FROM public."${table.table}" WHERE id = 2 FOR UPDATE`);
    const deletedOnB = BigInt(Date.now() - 1_000) * 1_000n;
    const fromB = replicate('b', deletedOnB, [
      { op: 'd', table, before: { id: 3n, qty: 1, note: 'c' } },
      { op: 'u', table, before: { id: 2n, qty: 0, note: 'x' }, after: { id: 2n, qty: 1, note: 'b' } },
    ]);
    await waitFor('the link from b to wait for row 2', async () => (await waitingOnA()) === 1);
    // c inserted key 3 before b deleted it (b had it from c): the delete is the later write.
    let cDone = false;
    const insertedOnC = deletedOnB - 1_000n;
    const fromCApplied = applyAs(fromC, 'c', (lsn += 0x100n), insertedOnC, [
      { op: 'c', table, after: { id: 3n, qty: 1, note: 'c' } },
    ]).finally(() => {
      cDone = true;
    });
    await waitFor(
      'the link from c to finish or wait for key 3',
      async () => cDone || (await waitingOnA()) === 2,
    );
    await holder.run({ text: 'COMMIT', values: [] });
    await holder.close();
    assert.deepEqual(await fromB, []);
    await fromCApplied;
    await fromC.close();
    await regions.a.db.query('SELECT pg_replication_origin_drop($1)', [origin]);
    assert.equal(await rowOf('a', table, 3), null, "b's later delete wins over c's insert on a");
    assert.deepEqual(await rowOf('a', table, 2), { id: '2', qty: '1', note: 'b' });
    assert.deepEqual(
      (await conflicts('a', table)).map(pick).filter((record) => record.kind === 'insert_exists'),
      [{ kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local' }],
    );
  });
});
