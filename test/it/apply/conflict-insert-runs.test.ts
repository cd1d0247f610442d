/**
 * Consecutive inserts of one table in a source transaction go out together on a link with conflict handling
 * (services/apply/conflicts/insert-run.ts) when the worker applies whole transactions. They must be decided
 * exactly as one by one: the same transaction is applied whole on node a and event by event (the isolated path,
 * which writes each change on its own) on node b, over the same local state, and both must end alike and record
 * the same conflicts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { transaction, type Change } from '../../unit/apply/events.ts';
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
  type Node,
} from './conflict-regions.ts';

useTwoRegions();

/** Applies changes written at `from` (committed there at `micros`) to the other region as one whole transaction. */
async function replicateWhole(from: Node, micros: bigint, changes: readonly Change[]): Promise<void> {
  const to = regions[other(from)];
  to.lsn += 0x100n;
  const events: ChangeEvent[] = transaction(to.lsn, changes, { connector: from }).map((event) => ({
    ...event,
    source: { ...event.source, commitTimeMicros: micros },
  }));
  await to.sink.apply(from, [{ commit: events[0]!.source.position.commit, events, complete: true }]);
}

async function allRows(node: Node, table: string): Promise<Record<string, string | null>[]> {
  return regions[node].db.query(`SELECT id, qty, note FROM public."${table}" ORDER BY id`);
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
});
