/**
 * Conflict detection and resolution on PostgreSQL, two regions as two databases. Each region writes locally
 * (real commits, with their real commit times), and the other region's sink gets the change as capture would
 * publish it (same commit time, the writing node as connector). Every test applies the two conflicting changes
 * in opposite orders on the two nodes and checks that both end with the same row, and what was recorded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { Conflict, TablePolicy } from '../../../services/apply/conflicts/types.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable } from '../../unit/apply/events.ts';
import {
  regions,
  configure,
  itemsTable,
  replicate,
  local,
  seed,
  rowOf,
  conflicts,
  json,
  pick,
  converged,
  useTwoRegions,
} from './conflict-regions.ts';

useTwoRegions();

void describe('conflicts on PostgreSQL: two regions', () => {
  void test('update–update under last-writer-wins: the later commit wins on both nodes, the replicated row keeps its original commit time and origin, both record it', async () => {
    const table = itemsTable();
    await seed(table, [{ id: 1n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `UPDATE ${name} SET note = 'a' WHERE id = 1`);
    const tb = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 1`);
    assert.ok(tb > ta);
    const before = { id: 1n, qty: 0, note: 'x' };
    await replicate('a', ta, [{ op: 'u', table, before, after: { id: 1n, qty: 0, note: 'a' } }]);
    await replicate('b', tb, [{ op: 'u', table, before, after: { id: 1n, qty: 0, note: 'b' } }]);

    assert.deepEqual(await converged(table, 1), { id: '1', qty: '0', note: 'b' });
    const [onA] = await conflicts('a', table);
    const [onB] = await conflicts('b', table);
    assert.deepEqual(pick(onA!), {
      kind: 'update_differs',
      policy: 'last-writer-wins',
      outcome: 'applied_remote',
    });
    assert.deepEqual(pick(onB!), {
      kind: 'update_differs',
      policy: 'last-writer-wins',
      outcome: 'kept_local',
    });
    // Both nodes compared the very same two versions.
    assert.deepEqual(
      [onA!.localOrigin, onA!.remoteOrigin, onB!.localOrigin, onB!.remoteOrigin],
      ['a', 'b', 'b', 'a'],
    );
    assert.equal(onA!.remoteCommitTs, onB!.localCommitTs);
    assert.equal(onA!.localCommitTs, onB!.remoteCommitTs);
    assert.equal(json(onA!.keyJson).id, '1');
    assert.equal(json(onA!.remoteJson).note, 'b');
    assert.equal(json(onA!.localJson).note, 'a');
    // a's copy of b's write carries b's commit time and the link's origin: the version b has for it.
    const [version] = await regions.a.db.query(
      `SELECT (extract(epoch FROM c.timestamp) * 1000000)::bigint AS micros, o.roname
         FROM ${name} t, pg_xact_commit_timestamp_origin(t.xmin) c JOIN pg_replication_origin o ON o.roident = c.roident
        WHERE t.id = 1`,
    );
    assert.deepEqual(version, { micros: tb.toString(), roname: regions.a.origin });
  });

  void test('insert–insert: the later insert wins on both nodes (insert_exists)', async () => {
    const table = itemsTable();
    await seed(table, [{ id: 100n, qty: 0, note: 'seed' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `INSERT INTO ${name} VALUES (2, 1, 'a')`);
    const tb = await local('b', `INSERT INTO ${name} VALUES (2, 2, 'b')`);
    await replicate('b', tb, [{ op: 'c', table, after: { id: 2n, qty: 2, note: 'b' } }]);
    await replicate('a', ta, [{ op: 'c', table, after: { id: 2n, qty: 1, note: 'a' } }]);
    assert.deepEqual(await converged(table, 2), { id: '2', qty: '2', note: 'b' });
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'applied_remote' },
    ]);
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local' },
    ]);
  });

  void test('update–delete: a delete later than a concurrent update wins on both nodes, and the older update does not resurrect the row (tombstone of a local delete)', async () => {
    const table = itemsTable();
    await seed(table, [{ id: 3n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const tb = await local('b', `UPDATE ${name} SET qty = 7 WHERE id = 3`);
    const ta = await local('a', `DELETE FROM ${name} WHERE id = 3`);
    await replicate('b', tb, [
      { op: 'u', table, before: { id: 3n, qty: 0, note: 'x' }, after: { id: 3n, qty: 7, note: 'x' } },
    ]);
    await replicate('a', ta, [{ op: 'd', table, before: { id: 3n, qty: 0, note: 'x' } }]);
    assert.equal(await converged(table, 3), null);
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'update_missing', policy: 'last-writer-wins', outcome: 'skipped' },
    ]);
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'delete_differs', policy: 'last-writer-wins', outcome: 'applied_remote' },
    ]);
    // A late insert older than b's tombstone (left by the replicated delete) does not bring it back either,
    const late = await replicate('a', ta - 1n, [{ op: 'c', table, after: { id: 3n, qty: 9, note: 'late' } }]);
    assert.deepEqual(late, []);
    assert.equal(await rowOf('b', table, 3), null);
    // but an insert after the delete is the key coming back: applied, and no conflict.
    await replicate('a', ta + 1n, [{ op: 'c', table, after: { id: 3n, qty: 10, note: 'again' } }]);
    assert.deepEqual(await rowOf('b', table, 3), { id: '3', qty: '10', note: 'again' });
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'delete_differs', policy: 'last-writer-wins', outcome: 'applied_remote' },
      { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local' },
    ]);
  });

  void test('one source transaction that deletes a key and inserts it again, moves a key and inserts the old one, inserts then updates, and updates then deletes is applied whole on the other node, with no conflict', async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [
      { id: 20n, qty: 0, note: 'x' },
      { id: 21n, qty: 0, note: 'x' },
      { id: 23n, qty: 0, note: 'x' },
    ]);
    const name = `public."${table.table}"`;
    const ta = await local(
      'a',
      `DELETE FROM ${name} WHERE id = 20; INSERT INTO ${name} VALUES (20, 1, 'again');
       UPDATE ${name} SET id = 22 WHERE id = 21; INSERT INTO ${name} VALUES (21, 2, 'old key');
       INSERT INTO ${name} VALUES (24, 0, 'new'); UPDATE ${name} SET qty = 5 WHERE id = 24;
       UPDATE ${name} SET qty = 3 WHERE id = 23; DELETE FROM ${name} WHERE id = 23`,
    );
    const x = { qty: 0, note: 'x' };
    const failures = await replicate('a', ta, [
      { op: 'd', table, before: { id: 20n, ...x } },
      { op: 'c', table, after: { id: 20n, qty: 1, note: 'again' } },
      { op: 'u', table, before: { id: 21n, ...x }, after: { id: 22n, ...x } },
      { op: 'c', table, after: { id: 21n, qty: 2, note: 'old key' } },
      { op: 'c', table, after: { id: 24n, qty: 0, note: 'new' } },
      { op: 'u', table, before: { id: 24n, qty: 0, note: 'new' }, after: { id: 24n, qty: 5, note: 'new' } },
      { op: 'u', table, before: { id: 23n, ...x }, after: { id: 23n, qty: 3, note: 'x' } },
      { op: 'd', table, before: { id: 23n, qty: 3, note: 'x' } },
    ]);
    assert.deepEqual(failures, []);
    assert.deepEqual(await converged(table, 20), { id: '20', qty: '1', note: 'again' });
    assert.deepEqual(await converged(table, 21), { id: '21', qty: '2', note: 'old key' });
    assert.deepEqual(await converged(table, 22), { id: '22', qty: '0', note: 'x' });
    assert.equal(await converged(table, 23), null);
    assert.deepEqual(await converged(table, 24), { id: '24', qty: '5', note: 'new' });
    assert.deepEqual(await conflicts('b', table), []);
    // The key deleted and inserted again holds no tombstone on either node: a later delete elsewhere still wins.
    const tombstones = await regions.b.db.query(
      'SELECT key_json FROM cdc_apply.tombstones WHERE table_name = $1 ORDER BY key_json',
      [`public.${table.table}`],
    );
    assert.deepEqual(tombstones, [{ key_json: '[23]' }]);
  });

  void test("two source transactions of one origin committed in the same microsecond, a delete and then an insert of the key: the insert lands (stream order is the origin's commit order)", async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [{ id: 25n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `DELETE FROM ${name} WHERE id = 25`);
    await local('a', `INSERT INTO ${name} VALUES (25, 1, 'again')`);
    // Under load two commits of a node can carry the same microsecond; the link applies them in commit order.
    await replicate('a', ta, [{ op: 'd', table, before: { id: 25n, qty: 0, note: 'x' } }]);
    await replicate('a', ta, [{ op: 'c', table, after: { id: 25n, qty: 1, note: 'again' } }]);
    assert.deepEqual(await converged(table, 25), { id: '25', qty: '1', note: 'again' });
    assert.deepEqual(await conflicts('b', table), []);
  });

  void test("a key moved on one node while the other updates the old key: the move is the old key's delete and the new key's insert, so both nodes end alike whichever write is later", async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [
      { id: 40n, qty: 0, note: 'x' },
      { id: 50n, qty: 0, note: 'x' },
    ]);
    const name = `public."${table.table}"`;
    const x = { qty: 0, note: 'x' };
    // Key 40: the update on b is older than the move on a; key 50: the move on a is older than the update on b.
    const tb40 = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 40`);
    const ta = await local('a', `UPDATE ${name} SET id = id + 1 WHERE id IN (40, 50)`);
    const tb50 = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 50`);
    await replicate('b', tb40, [
      { op: 'u', table, before: { id: 40n, ...x }, after: { id: 40n, qty: 0, note: 'b' } },
    ]);
    await replicate('b', tb50, [
      { op: 'u', table, before: { id: 50n, ...x }, after: { id: 50n, qty: 0, note: 'b' } },
    ]);
    await replicate('a', ta, [
      { op: 'u', table, before: { id: 40n, ...x }, after: { id: 41n, ...x } },
      { op: 'u', table, before: { id: 50n, ...x }, after: { id: 51n, ...x } },
    ]);
    // The move's delete of 40 is later than b's update: 40 is gone. b's update of 50 is later than the move's
    // delete of 50: 50 stays, with b's change. The moved rows arrive under their new keys on both nodes.
    assert.equal(await converged(table, 40), null);
    assert.deepEqual(await converged(table, 41), { id: '41', qty: '0', note: 'x' });
    assert.deepEqual(await converged(table, 50), { id: '50', qty: '0', note: 'b' });
    assert.deepEqual(await converged(table, 51), { id: '51', qty: '0', note: 'x' });
  });

  void test('a key move whose new row violates a unique key is dead-lettered whole: the old row stays, only the violation is recorded', async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [{ id: 70n, qty: 0, note: 'x70' }]);
    const name = `public."${table.table}"`;
    await regions.b.db.query(`CREATE UNIQUE INDEX ON ${name} (note)`);
    await local('b', `INSERT INTO ${name} VALUES (72, 0, 'taken')`);
    const ta = await local('a', `UPDATE ${name} SET id = 71, note = 'taken' WHERE id = 70`);
    const failures = await replicate('a', ta, [
      { op: 'u', table, before: { id: 70n, qty: 0, note: 'x70' }, after: { id: 71n, qty: 0, note: 'taken' } },
    ]);
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.error.message, /violates a unique key.*\(note\)=\(taken\)/);
    assert.deepEqual(await rowOf('b', table, 70), { id: '70', qty: '0', note: 'x70' });
    assert.equal(await rowOf('b', table, 71), null);
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'unique_violation', policy: 'last-writer-wins', outcome: 'dead_lettered' },
    ]);
    const tombstones = await regions.b.db.query(
      'SELECT key_json FROM cdc_apply.tombstones WHERE table_name = $1',
      [`public.${table.table}`],
    );
    assert.deepEqual(tombstones, []);
  });

  void test('delete–delete: both record delete_missing and skip; the key stays deleted', async () => {
    const table = itemsTable();
    await seed(table, [{ id: 4n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `DELETE FROM ${name} WHERE id = 4`);
    const tb = await local('b', `DELETE FROM ${name} WHERE id = 4`);
    await replicate('a', ta, [{ op: 'd', table, before: { id: 4n, qty: 0, note: 'x' } }]);
    await replicate('b', tb, [{ op: 'd', table, before: { id: 4n, qty: 0, note: 'x' } }]);
    assert.equal(await converged(table, 4), null);
    for (const node of ['a', 'b'] as const)
      assert.deepEqual((await conflicts(node, table)).map(pick), [
        { kind: 'delete_missing', policy: 'last-writer-wins', outcome: 'skipped' },
      ]);
  });

  void test('column merge with a delta counter: concurrent increments add up and a concurrent change of another column survives', async () => {
    const table = itemsTable();
    const policy: TablePolicy = { policy: 'merge', columns: { qty: 'delta' } };
    await configure({ tables: { [`public.${table.table}`]: policy } });
    await seed(table, [{ id: 5n, qty: 10, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `UPDATE ${name} SET qty = qty + 5 WHERE id = 5`);
    const tb = await local('b', `UPDATE ${name} SET qty = qty + 3, note = 'b' WHERE id = 5`);
    await replicate('a', ta, [
      { op: 'u', table, before: { id: 5n, qty: 10, note: 'x' }, after: { id: 5n, qty: 15, note: 'x' } },
    ]);
    await replicate('b', tb, [
      { op: 'u', table, before: { id: 5n, qty: 10, note: 'x' }, after: { id: 5n, qty: 13, note: 'b' } },
    ]);
    assert.deepEqual(await converged(table, 5), { id: '5', qty: '18', note: 'b' });
    for (const node of ['a', 'b'] as const)
      assert.deepEqual((await conflicts(node, table)).map(pick), [
        { kind: 'update_differs', policy: 'merge', outcome: 'merged' },
      ]);
  });

  void test('origin priority: the preferred region wins even with the older write', async () => {
    const table = itemsTable();
    await configure({
      defaults: { policy: 'origin-priority', columns: {} },
      originPriority: ['a', 'b'],
    });
    await seed(table, [{ id: 6n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `UPDATE ${name} SET note = 'a' WHERE id = 6`);
    const tb = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 6`);
    await replicate('b', tb, [
      { op: 'u', table, before: { id: 6n, qty: 0, note: 'x' }, after: { id: 6n, qty: 0, note: 'b' } },
    ]);
    await replicate('a', ta, [
      { op: 'u', table, before: { id: 6n, qty: 0, note: 'x' }, after: { id: 6n, qty: 0, note: 'a' } },
    ]);
    assert.deepEqual(await converged(table, 6), { id: '6', qty: '0', note: 'a' });
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'update_differs', policy: 'origin-priority', outcome: 'applied_remote' },
    ]);
  });

  void test('custom resolver: its row is written on both nodes and recorded as merged', async () => {
    const table = itemsTable();
    await configure({
      defaults: { policy: 'custom', columns: {} },
      // Deterministic: the longer note, then the later version, whichever node decides.
      resolver: (conflict) => {
        const mine = conflict.local?.note;
        const theirs = conflict.remoteAfter?.note;
        return { action: 'write', row: { note: [String(mine), String(theirs)].sort().join('+') } };
      },
    });
    await seed(table, [{ id: 7n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `UPDATE ${name} SET note = 'a' WHERE id = 7`);
    const tb = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 7`);
    await replicate('a', ta, [
      { op: 'u', table, before: { id: 7n, qty: 0, note: 'x' }, after: { id: 7n, qty: 0, note: 'a' } },
    ]);
    await replicate('b', tb, [
      { op: 'u', table, before: { id: 7n, qty: 0, note: 'x' }, after: { id: 7n, qty: 0, note: 'b' } },
    ]);
    assert.deepEqual(await converged(table, 7), { id: '7', qty: '0', note: 'a+b' });
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'update_differs', policy: 'custom', outcome: 'merged' },
    ]);
  });

  void test("keep-local: a key deleted and later inserted again on the other node comes back here (the tombstone of that node's own delete is not a local version)", async () => {
    const table = itemsTable();
    await configure({ defaults: { policy: 'keep-local', columns: {} } });
    await seed(table, [{ id: 90n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const t1 = await local('a', `DELETE FROM ${name} WHERE id = 90`);
    const t2 = await local('a', `INSERT INTO ${name} VALUES (90, 1, 'again')`);
    await replicate('a', t1, [{ op: 'd', table, before: { id: 90n, qty: 0, note: 'x' } }]);
    await replicate('a', t2, [{ op: 'c', table, after: { id: 90n, qty: 1, note: 'again' } }]);
    assert.deepEqual(await converged(table, 90), { id: '90', qty: '1', note: 'again' });
    assert.deepEqual(await conflicts('b', table), []);
  });

  void test("custom resolver on a missing row: it is asked about an update of a key deleted elsewhere (local null, the tombstone's version), and its answer holds on both nodes", async () => {
    const table = itemsTable();
    const seen: Conflict[] = [];
    await configure({
      defaults: { policy: 'custom', columns: {} },
      // Deletes win, whichever is later.
      resolver: (conflict) => {
        seen.push(conflict);
        if (conflict.remoteAfter === null) return { action: 'apply-remote' };
        return conflict.local === null ? { action: 'keep-local' } : { action: 'apply-remote' };
      },
    });
    await seed(table, [{ id: 60n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `DELETE FROM ${name} WHERE id = 60`);
    const tb = await local('b', `UPDATE ${name} SET note = 'b' WHERE id = 60`);
    await replicate('b', tb, [
      { op: 'u', table, before: { id: 60n, qty: 0, note: 'x' }, after: { id: 60n, qty: 0, note: 'b' } },
    ]);
    await replicate('a', ta, [{ op: 'd', table, before: { id: 60n, qty: 0, note: 'x' } }]);
    assert.equal(await converged(table, 60), null);
    const missing = seen.find((conflict) => conflict.kind === 'update_missing');
    assert.equal(missing?.local, null);
    assert.deepEqual(missing?.localVersion, { commitMicros: ta, origin: 'a' });
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'update_missing', policy: 'custom', outcome: 'skipped' },
    ]);
    assert.deepEqual((await conflicts('b', table)).map(pick), [
      { kind: 'delete_differs', policy: 'custom', outcome: 'applied_remote' },
    ]);
    // An insert older than the delete is asked about too; one later than the delete is the key coming back.
    await replicate('b', ta - 1n, [{ op: 'c', table, after: { id: 60n, qty: 1, note: 'late' } }]);
    assert.equal(await rowOf('a', table, 60), null);
    await replicate('b', ta + 1n, [{ op: 'c', table, after: { id: 60n, qty: 2, note: 'again' } }]);
    assert.deepEqual(await rowOf('a', table, 60), { id: '60', qty: '2', note: 'again' });
    assert.deepEqual(
      seen.map((conflict) => [conflict.kind, conflict.remoteAfter?.note ?? null]),
      [
        ['update_missing', 'b'],
        ['delete_differs', null],
        ['insert_exists', 'late'],
      ],
    );
  });

  void test('no false conflict: a float the old image carries at its decoded precision and an unchanged TOAST column are compared as the target stores them', async () => {
    await configure({});
    const table: TableSchema = {
      ...pgTable(
        'public',
        uniqueName('floats'),
        [
          column('id', 'bigint', { kind: 'int64' }, false),
          column('ratio', 'real', { kind: 'float32' }),
          column('doc', 'text', { kind: 'text' }),
        ],
        ['id'],
      ),
      beforeImage: 'full',
    };
    const decoded = Math.fround(0.1); // 0.10000000149011612: a float4 as the source decodes it
    await seed(table, [{ id: 1n, ratio: decoded, doc: 'long text' }]);
    const tb = await local('b', `UPDATE public."${table.table}" SET ratio = 0.2 WHERE id = 1`);
    await replicate('b', tb, [
      {
        op: 'u',
        table,
        // The old image misses the unchanged TOAST column, and its new value is not sent either.
        before: { id: 1n, ratio: decoded },
        after: { id: 1n, ratio: Math.fround(0.2) },
        unchanged: ['doc'],
      },
    ]);
    const rows = await regions.a.db.query(`SELECT id, ratio, doc FROM public."${table.table}"`);
    assert.deepEqual(rows, [{ id: '1', ratio: '0.2', doc: 'long text' }]);
    assert.deepEqual(await conflicts('a', table), []);
  });

  void test("a delete by an application user without rights on cdc_apply still leaves its tombstone (the trigger runs as the sink's user)", async () => {
    await configure({});
    const table = itemsTable();
    await seed(table, [{ id: 1n, qty: 0, note: 'x' }]);
    const db = regions.a.db;
    const role = uniqueName('app');
    await db.query(`CREATE ROLE ${role} LOGIN`);
    try {
      await db.query(`GRANT SELECT, DELETE ON public."${table.table}" TO ${role}`);
      const app = new pg.Client({ connectionString: db.url.replace('postgres@', `${role}@`) });
      await app.connect();
      try {
        await app.query(`DELETE FROM public."${table.table}" WHERE id = 1`);
      } finally {
        await app.end();
      }
      const tombstones = await db.query(
        'SELECT key_json, origin FROM cdc_apply.tombstones WHERE table_name = $1',
        [`public.${table.table}`],
      );
      assert.deepEqual(tombstones, [{ key_json: '[1]', origin: null }]);
    } finally {
      await db.query(`DROP OWNED BY ${role}`);
      await db.query(`DROP ROLE ${role}`);
    }
  });

  void test('tombstones expire after the retention: a change delayed longer than that resurrects the row (the documented limit)', async () => {
    const table = itemsTable();
    await configure({});
    await seed(table, [{ id: 9n, qty: 0, note: 'x' }]);
    const name = `public."${table.table}"`;
    const ta = await local('a', `DELETE FROM ${name} WHERE id = 9`);
    const kept = await regions.a.db.query(
      'SELECT count(*)::int AS n FROM cdc_apply.tombstones WHERE table_name = $1',
      [`public.${table.table}`],
    );
    assert.deepEqual(kept, [{ n: '1' }]);
    // A sink with a retention of zero collects the tombstone before it applies the late insert.
    await configure({ tombstoneRetentionMillis: 0 });
    await replicate('b', ta - 1n, [{ op: 'c', table, after: { id: 9n, qty: 1, note: 'late' } }]);
    assert.deepEqual(await rowOf('a', table, 9), { id: '9', qty: '1', note: 'late' });
    await configure({});
  });

  void test('a unique key other than the primary key: the violating change is recorded as unique_violation and dead-lettered, the rest of the batch applies', async () => {
    const table = itemsTable();
    await configure({});
    await seed(table, [{ id: 8n, qty: 0, note: 'seed' }]);
    const name = `public."${table.table}"`;
    for (const node of ['a', 'b'] as const)
      await regions[node].db.query(`CREATE UNIQUE INDEX ON ${name} (note)`);
    const ta = await local('a', `INSERT INTO ${name} VALUES (10, 0, 'u')`);
    const failures = await replicate('a', ta, [
      { op: 'c', table, after: { id: 10n, qty: 0, note: 'u' } },
      { op: 'c', table, after: { id: 11n, qty: 0, note: 'v' } },
    ]);
    assert.deepEqual(failures, []);
    const tb = await local('b', `INSERT INTO ${name} VALUES (12, 0, 'w')`);
    const rejected = await replicate('b', tb, [
      { op: 'c', table, after: { id: 12n, qty: 0, note: 'w' } },
      { op: 'c', table, after: { id: 13n, qty: 0, note: 'u' } },
    ]);
    assert.equal(rejected.length, 1);
    assert.match(rejected[0]!.error.message, /violates a unique key.*\(note\)=\(u\)/);
    assert.deepEqual(await rowOf('a', table, 13), null);
    assert.deepEqual(await rowOf('a', table, 12), { id: '12', qty: '0', note: 'w' });
    const recorded = await conflicts('a', table);
    assert.deepEqual(recorded.map(pick), [
      { kind: 'unique_violation', policy: 'last-writer-wins', outcome: 'dead_lettered' },
    ]);
    assert.equal(json(recorded[0]!.keyJson).id, '13');
    const counted = regions.a.sink.conflictCounts().filter((c) => c.table === `public.${table.table}`);
    assert.deepEqual(
      counted.map((c) => [c.kind, c.outcome, c.count]),
      [['unique_violation', 'dead_lettered', 1]],
    );
  });
});
