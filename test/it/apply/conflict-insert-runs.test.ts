/**
 * Consecutive inserts of one table in a source transaction go out together on a link with conflict handling
 * (services/apply/conflicts/insert-run.ts) when the worker applies whole transactions. They must be decided
 * exactly as one by one: the same transaction is applied whole on node a and event by event (the isolated path,
 * which writes each change on its own) on node b, over the same local state, and both must end alike and record
 * the same conflicts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, type Change } from '../../unit/apply/events.ts';
import {
  regions,
  other,
  itemsTable,
  replicate,
  local,
  seed,
  rowOf,
  conflicts,
  json,
  pick,
  useTwoRegions,
  applyAs,
  type Node,
} from './conflict-regions.ts';

useTwoRegions();

/** Applies changes written at `from` (committed there at `micros`) to the other region as one whole transaction. */
async function replicateWhole(from: Node, micros: bigint, changes: readonly Change[]): Promise<void> {
  const to = regions[other(from)];
  to.lsn += 0x100n;
  await applyAs(to.sink, from, to.lsn, micros, changes);
}

async function allRows(node: Node, table: string): Promise<Record<string, string | null>[]> {
  return regions[node].db.query(`SELECT id, qty, note FROM public."${table}" ORDER BY id`);
}

/** A composite key of a string and a decimal (its tombstone key is the typed value: `5` is `5.00`), other types. */
function typedTable(): TableSchema {
  return pgTable(
    'public',
    uniqueName('typed'),
    [
      column('region', 'character varying(8)', { kind: 'string', maxLength: 8 }, false),
      column('amount', 'numeric(12,2)', { kind: 'decimal', precision: 12, scale: 2 }, false),
      column('code', 'character(4)', { kind: 'string', maxLength: 4, fixed: true }),
      column('flags', 'bit(4)', { kind: 'bit', length: 4 }),
      column('tags', 'text[]', { kind: 'array', element: { kind: 'text' } }),
      column('doc', 'jsonb', { kind: 'json', binary: true }),
      column('data', 'bytea', { kind: 'bytes' }),
    ],
    ['region', 'amount'],
  );
}

void describe('conflicts on PostgreSQL: runs of inserts in one source transaction', () => {
  void test('inserts whose keys exist here, were deleted here, were deleted earlier elsewhere or repeat in the transaction are decided as one by one', async () => {
    const table = itemsTable();
    const name = `public."${table.table}"`;
    const seeded = 1_600_000_000_000_000n;
    await seed(table, [
      { id: 9n, qty: 0, note: 'seed' },
      { id: 100n, qty: 0, note: 'seed' },
    ]);
    // Key 9 deleted elsewhere before the transaction below (an older tombstone: the insert brings it back).
    const deleted = seeded + 1_000n;
    for (const from of ['a', 'b'] as const)
      await replicate(from, deleted, [{ op: 'd', table, before: { id: 9n, qty: 0, note: 'seed' } }]);
    const remote = deleted + 1_000n;
    // Later than the transaction: a local insert of key 5, the same row as the remote one for key 7, and a
    // local delete of key 100 (a newer tombstone: the insert does not bring it back).
    for (const node of ['a', 'b'] as const) {
      await local(node, `INSERT INTO ${name} VALUES (5, 50, 'local'), (7, 7, 'r7')`);
      await local(node, `DELETE FROM ${name} WHERE id = 100`);
    }
    const inserts = (ids: readonly number[]): Change[] =>
      ids.map((id) => ({ op: 'c', table, after: { id: BigInt(id), qty: id, note: `r${id}` } }));
    const changes: Change[] = [
      ...inserts([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 13, 14]),
      { op: 'd', table, before: { id: 14n, qty: 14, note: 'r14' } },
      ...inserts([14, 15]),
    ];
    await replicateWhole('b', remote, changes);
    const failures = await replicate('a', remote, changes);
    assert.deepEqual(failures, []);

    const rows = await allRows('a', table.table);
    assert.deepEqual(rows, await allRows('b', table.table));
    assert.deepEqual(
      rows.map((row) => [row.id, row.note]),
      [
        ...[1, 2, 3, 4].map((id) => [String(id), `r${id}`]),
        ['5', 'local'],
        ...[6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((id) => [String(id), `r${id}`]),
      ],
    );
    for (const node of ['a', 'b'] as const) {
      const recorded = await conflicts(node, table);
      assert.deepEqual(
        recorded.map((record) => ({ ...pick(record), id: json(record.keyJson).id })),
        [
          { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local', id: '5' },
          { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local', id: '100' },
        ],
        `conflicts recorded on ${node}`,
      );
    }
  });

  void test('an insert violating another unique key fails the whole transaction, which writes nothing; event by event only that insert is dead-lettered', async () => {
    const table = itemsTable();
    const name = `public."${table.table}"`;
    await seed(table, [{ id: 1n, qty: 0, note: 'taken' }]);
    for (const node of ['a', 'b'] as const)
      await regions[node].db.query(`CREATE UNIQUE INDEX ON ${name} (note)`);
    const changes: Change[] = [2, 3, 4].map((id) => ({
      op: 'c',
      table,
      after: { id: BigInt(id), qty: id, note: id === 3 ? 'taken' : `r${id}` },
    }));
    const micros = 1_700_000_000_000_000n;
    await assert.rejects(replicateWhole('b', micros, changes), /violates a unique key.*\(note\)=\(taken\)/);
    assert.deepEqual(
      (await allRows('a', table.table)).map((row) => row.id),
      ['1'],
    );
    assert.deepEqual(await conflicts('a', table), []);
    // What the worker does next: the transaction event by event, the violating insert to the dead letters.
    const failures = await replicate('b', micros, changes);
    assert.deepEqual(
      failures.map((failure) => failure.eventIndex),
      [1],
    );
    assert.deepEqual(await rowOf('a', table, 4), { id: '4', qty: '4', note: 'r4' });
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'unique_violation', policy: 'last-writer-wins', outcome: 'dead_lettered' },
    ]);
  });

  void test('values of many types are written as one by one, and a decimal key deleted here later than the insert stays deleted', async () => {
    const table = typedTable();
    const row = (region: string, amount: string): Change => ({
      op: 'c',
      table,
      after: {
        region,
        amount,
        code: 'ab',
        flags: '0101',
        tags: ['x', 'y z', null],
        doc: '{"b": [1, 2], "a": "\\u00e9"}',
        data: new Uint8Array([0, 1, 254]),
      },
    });
    const micros = 1_700_000_000_000_000n;
    await replicateWhole('b', micros, [row('eu', '5'), row('eu', '6.5'), row('us', '5')]);
    await replicate('a', micros, [row('eu', '5'), row('eu', '6.5'), row('us', '5')]);
    const read = (node: Node) =>
      regions[node].db.query(
        `SELECT region, amount::text, code, flags::text, tags::text, doc::text, encode(data, 'hex') AS data
           FROM public."${table.table}" ORDER BY region, amount`,
      );
    const rows = await read('a');
    assert.deepEqual(rows, await read('b'));
    assert.deepEqual(rows[0], {
      region: 'eu',
      amount: '5.00',
      code: 'ab  ',
      flags: '0101',
      tags: '{x,"y z",NULL}',
      doc: '{"a": "é", "b": [1, 2]}',
      data: '0001fe',
    });
    // A local delete later than an insert of the key arriving now: its tombstone keeps the insert out.
    await local('a', `DELETE FROM public."${table.table}" WHERE region = 'eu' AND amount = 5`);
    await replicateWhole('b', micros + 1n, [row('eu', '5'), row('eu', '7')]);
    assert.deepEqual(
      (await read('a')).map((r) => [r.region, r.amount]),
      [
        ['eu', '6.50'],
        ['eu', '7.00'],
        ['us', '5.00'],
      ],
    );
    assert.deepEqual((await conflicts('a', table)).map(pick), [
      { kind: 'insert_exists', policy: 'last-writer-wins', outcome: 'kept_local' },
    ]);
  });
});
