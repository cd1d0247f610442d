/**
 * Cascade of four PostgreSQL tiers a → b → c → d: the events c re-publishes say where each change was first
 * written, not just the tier above. A change made on a reaches c's changelog naming a as its origin, with a's
 * commit position (originCommit) and a's commit time, in the event and in the `cdc.origin` / `cdc.origin.commit`
 * headers; a change made on b names b. Before, c's sink marked everything with the one origin of its link
 * (`cdc_b__c`), so c's changelog named b for a's changes too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatCommit, formatPosition } from '../../../schemas/positions/position.ts';
import type { ConsumedEvent } from '../../../services/kafka/consumer.ts';
import { positionProblems, readChangelog } from '../../support/changelog.ts';
import { tableContent, type TestDatabase } from '../../support/pg.ts';
import { headerText, readRaw } from '../../support/raw-topic.ts';
import { waitFor } from '../../support/wait.ts';
import { startTopology, waitStreaming, type TopologyStage } from './harness.ts';

let stage: TopologyStage;

before(async () => {
  stage = await startTopology(
    'cascorig',
    'cascade',
    ['a', 'b', 'c', 'd'],
    [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
    ],
    async (node, { kind, db }) => {
      if (kind !== 'postgres') return;
      if (node === 'a') await db.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
      // b's own writes go to a table of its own, so d can still equal a.
      if (node === 'b') await db.query('CREATE TABLE b_notes (id int PRIMARY KEY, note text NOT NULL)');
    },
  );
});

after(async () => {
  await stage.cleanup();
});

function database(node: string): TestDatabase {
  const found = stage.nodes[node];
  assert.ok(found?.kind === 'postgres');
  return found.db;
}

/** The commit time of the transaction that wrote the row, in microseconds since the epoch (track_commit_timestamp). */
async function commitMicros(db: TestDatabase, table: string, id: number): Promise<bigint> {
  const result = await db.query<{ micros: string }>(
    `SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text AS micros FROM ${table} WHERE id = $1`,
    [id],
  );
  return BigInt(result.rows[0]!.micros);
}

const rowId = (item: ConsumedEvent): number => Number(item.event.after?.id);

async function sameContent(table: string, from: string, to: string): Promise<void> {
  const expected = await tableContent(database(from), table, 'id');
  await waitFor(
    `${to}.${table} to equal ${from}.${table}`,
    async () => JSON.stringify(await tableContent(database(to), table, 'id')) === JSON.stringify(expected),
    { timeoutMs: 180_000, intervalMs: 250 },
  );
}

test("c's changelog names the node each change was first written on, with its commit position and time", async () => {
  const [a, b] = [database('a'), database('b')];
  const nameOf = (node: string) => stage.nodes[node]!.name;
  await waitStreaming(stage);

  // One at a time, each through to d before the next: every tier commits each alone, so every event's
  // originCommit and commit time must be exactly its own source transaction's.
  for (let i = 1; i <= 3; i++) {
    await a.query(
      `BEGIN; INSERT INTO items VALUES (${i}, 'a-${i}'); INSERT INTO items VALUES (${i + 100}, 'a-${i}b'); COMMIT;`,
    );
    await sameContent('items', 'a', 'd');
    await b.query(`INSERT INTO b_notes VALUES (${i}, 'b-${i}')`);
    await sameContent('b_notes', 'b', 'd');
  }
  // Then both at once: c's worker gets a's and b's transactions interleaved in one fetch, and must still
  // commit each under its own origin.
  for (let i = 4; i <= 60; i++)
    await Promise.all([
      a.query(`INSERT INTO items VALUES (${i}, 'a-${i}')`),
      b.query(`INSERT INTO b_notes VALUES (${i}, 'b-${i}')`),
    ]);
  await sameContent('items', 'a', 'd');
  await sameContent('b_notes', 'b', 'd');

  const fromA = await readChangelog(stage.prefix, stage.changelog('a'));
  const fromB = await readChangelog(stage.prefix, stage.changelog('b'));
  const fromC = await readChangelog(stage.prefix, stage.changelog('c'));
  assert.deepEqual(positionProblems(fromC), [], 'c published a change twice or out of order');
  const items = fromC.filter((item) => item.event.table.table === 'items');
  const notes = fromC.filter((item) => item.event.table.table === 'b_notes');
  assert.equal(items.length, 60 + 3, "c's changelog should hold every change made on a");
  assert.equal(notes.length, 60, "c's changelog should hold every change made on b");

  const origins = (events: readonly ConsumedEvent[]) => [
    ...new Set(events.map((item) => String(item.event.source.origin))),
  ];
  assert.deepEqual(origins(items), [nameOf('a')], "changes made on a should name a at c's changelog");
  assert.deepEqual(origins(notes), [nameOf('b')], "changes made on b should name b at c's changelog");

  // Where and when each was first written: a's own commit position (from a's changelog) and commit time (from a).
  const commitOn = (events: readonly ConsumedEvent[]) =>
    new Map(events.map((item) => [rowId(item), formatCommit(item.event.source.position.commit)]));
  const aCommit = commitOn(fromA);
  const bCommit = commitOn(fromB);
  const exact = items.filter((item) => rowId(item) <= 3 || rowId(item) > 100);
  assert.equal(exact.length, 6);
  for (const item of exact) {
    const id = rowId(item);
    const origin = item.event.source.originCommit;
    assert.equal(origin && formatCommit(origin), aCommit.get(id), `originCommit of row ${id}`);
    assert.equal(
      item.event.source.commitTimeMicros,
      await commitMicros(a, 'items', id),
      `commit time of row ${id}`,
    );
  }
  for (const item of notes.filter((note) => rowId(note) <= 3)) {
    const id = rowId(item);
    const origin = item.event.source.originCommit;
    assert.equal(origin && formatCommit(origin), bCommit.get(id), `originCommit of b_notes row ${id}`);
    assert.equal(
      item.event.source.commitTimeMicros,
      await commitMicros(b, 'b_notes', id),
      `commit time of b_notes row ${id}`,
    );
  }
  // Grouped with others, a change carries the position and time of one of its origin's transactions (the last
  // of its group), never the other node's or a tier's own.
  const aTimes = new Map(
    await Promise.all(
      [...aCommit.keys()].map(async (id) => [aCommit.get(id), await commitMicros(a, 'items', id)] as const),
    ),
  );
  const misplaced = items.filter((item) => {
    const origin = item.event.source.originCommit;
    return origin === undefined || aTimes.get(formatCommit(origin)) !== item.event.source.commitTimeMicros;
  });
  assert.deepEqual(
    misplaced.map((item) => `row ${rowId(item)}: ${item.event.source.commitTimeMicros}`),
    [],
    "every change of a at c's changelog should carry a commit of a with that commit's time",
  );

  // The same, readable without decoding a value: the record headers.
  const raw = await readRaw(stage.changelog('c'), (messages) => messages.length >= fromC.length);
  const byPosition = new Map(raw.map((message) => [headerText(message, 'cdc.position'), message]));
  const wrongHeaders = fromC.flatMap((item) => {
    const message = byPosition.get(formatPosition(item.event.source.position));
    const want = [
      item.event.source.origin,
      item.event.source.originCommit && formatCommit(item.event.source.originCommit),
    ];
    const got = message && [headerText(message, 'cdc.origin'), headerText(message, 'cdc.origin.commit')];
    return JSON.stringify(got) === JSON.stringify(want)
      ? []
      : [`${item.offset}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`];
  });
  assert.deepEqual(wrongHeaders, [], 'the cdc.origin and cdc.origin.commit headers should say the same');
});
