/**
 * The sink contract: the same tests registered once per target (`registerSinkTests(postgresTarget)`, ...),
 * so every replica behaves alike on what a user checks: rows equal, nothing lost, nothing twice, the applied
 * position stored with the rows, failures named.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../../common/errors.ts';
import type { SourceTransaction } from '../../../../services/apply/sink.ts';
import { uniqueName } from '../../../support/stack.ts';
import { column, pgTable, snapshotRead, transaction, type Change } from '../../../unit/apply/events.ts';
import { runWorker } from './run-worker.ts';
import type { ContractTarget, OpenTarget } from './targets.ts';

function itemsTable(): TableSchema {
  return pgTable(
    'public',
    uniqueName('items'),
    [
      column('id', 'bigint', { kind: 'int64' }, false),
      column('qty', 'integer', { kind: 'int32' }),
      column('note', 'text', { kind: 'text' }),
    ],
    ['id'],
  );
}

/** One insert per transaction, at LSN `lsn`. */
function insert(lsn: bigint, table: TableSchema, id: number, note: string | null = null): ChangeEvent[] {
  return transaction(lsn, [{ op: 'c', table, after: { id: BigInt(id), qty: id, note } }]);
}

function whole(events: readonly ChangeEvent[]): SourceTransaction {
  return { commit: events[0]!.source.position.commit, events, complete: true };
}

function row(id: number, qty: number | null, note: string | null = null): Record<string, string | null> {
  return { id: String(id), qty: qty === null ? null : String(qty), note };
}

export function registerSinkTests(target: ContractTarget): void {
  void describe(`sink contract: ${target.name}`, () => {
    let t: OpenTarget;

    before(async () => {
      t = await target.open();
    });

    after(async () => {
      await t.close();
    });

    void test('every operation applies: inserts, updates (unchanged columns kept, key changes), deletes, snapshot upserts, truncate; a redelivery changes nothing', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const other = itemsTable();
      const batches = [
        transaction(10n, [
          { op: 'c', table, after: { id: 1n, qty: 1, note: 'one' } },
          { op: 'c', table, after: { id: 2n, qty: 2, note: 'two' } },
          { op: 'c', table, after: { id: 3n, qty: 3, note: 'three' } },
          { op: 'c', table: other, after: { id: 9n, qty: 9, note: null } },
        ]),
        transaction(20n, [
          { op: 'u', table, before: { id: 1n }, after: { id: 1n, qty: 10 }, unchanged: ['note'] },
          { op: 'u', table, before: { id: 2n }, after: { id: 20n, qty: 2, note: 'two' } },
          { op: 'd', table, before: { id: 3n } },
        ]),
        // Two reads of one key in a batch: an upsert statement may not touch a row twice, so they go apart.
        [
          snapshotRead(30n, 0, table, { id: 1n, qty: 11, note: 'one' }),
          snapshotRead(30n, 1, table, { id: 1n, qty: 12, note: 'one' }),
        ],
        transaction(40n, [{ op: 't', table: other }]),
      ];
      const run = await runWorker(t.newSink(), stream, batches);
      assert.equal(run.error, null);
      const expected = [row(1, 12, 'one'), row(20, 2, 'two')];
      assert.deepEqual(await t.rows(table), expected);
      assert.deepEqual(await t.rows(other), []);
      assert.equal(await t.position(stream), 'pg:0/28#0');

      const again = await runWorker(t.newSink(), stream, batches);
      assert.equal(again.error, null);
      assert.equal(again.worker.status().eventsApplied, 0);
      assert.equal(again.worker.status().eventsSkipped, 10);
      assert.deepEqual(await t.rows(table), expected);
    });

    void test('a batch of many source transactions applies them in order over several target transactions, each row once', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const events: ChangeEvent[] = [];
      for (let id = 1; id <= 300; id++) {
        const changes: Change[] = [{ op: 'c', table, after: { id: BigInt(id), qty: id, note: null } }];
        // Every third transaction also updates the row of the one before it: order matters.
        if (id % 3 === 0)
          changes.push({
            op: 'u',
            table,
            before: { id: BigInt(id - 1) },
            after: { id: BigInt(id - 1), qty: -id },
          });
        events.push(...transaction(BigInt(id * 16), changes));
      }
      const run = await runWorker(t.newSink(), stream, [events], { maxEvents: 50 });
      assert.equal(run.error, null);
      assert.equal(run.worker.status().transactionsApplied, 300);
      const expected = Array.from({ length: 300 }, (_, i) => i + 1).map((id) =>
        row(id, (id + 1) % 3 === 0 ? -(id + 1) : id),
      );
      assert.deepEqual(await t.rows(table), expected);
      assert.equal(await t.position(stream), `pg:0/${(300 * 16).toString(16).toUpperCase()}#1`);
    });

    void test('a transaction cut by a fetch boundary waits for its end: the replica never shows it half applied', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const small = insert(5n, table, 100);
      const big = transaction(
        10n,
        [1, 2, 3].map((id) => ({ op: 'c' as const, table, after: { id: BigInt(id), qty: id, note: null } })),
        { totalOnLastOnly: true },
      );
      const seen: string[] = [];
      const run = await runWorker(t.newSink(), stream, [[...small, ...big.slice(0, 2)], big.slice(2)], {
        between: async (index) => {
          if (index === 1) seen.push(...(await t.rows(table)).map((r) => String(r.id)));
        },
      });
      assert.equal(run.error, null);
      assert.deepEqual(
        seen,
        ['100'],
        'after the first fetch only the complete transaction is on the replica',
      );
      assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2), row(3, 3), row(100, 100)]);
      assert.equal(run.worker.status().transactionsApplied, 2);
    });

    void test('a transaction larger than a fetch applies in parts, each with its exact position; a redelivery of the whole applies it once', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const big = transaction(
        10n,
        [1, 2, 3, 4, 5].map((id) => ({
          op: 'c' as const,
          table,
          after: { id: BigInt(id), qty: id, note: null },
        })),
        { totalOnLastOnly: true },
      );
      const first = await runWorker(t.newSink(), stream, [big.slice(0, 3)]);
      assert.equal(first.error, null);
      assert.equal(await t.position(stream), 'pg:0/A#2');
      // A crash here redelivers from an earlier offset: the first three are recognized, the last two applied.
      const second = await runWorker(t.newSink(), stream, [big.slice(1, 4), big.slice(4)]);
      assert.equal(second.error, null);
      assert.deepEqual(
        await t.rows(table),
        [1, 2, 3, 4, 5].map((id) => row(id, id)),
      );
      assert.equal(await t.position(stream), 'pg:0/A#4');
    });

    void test('the connection lost in the middle of a target transaction is retried, not dead-lettered: nothing lost, nothing twice', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const batches = [1, 2, 3].map((id) => insert(BigInt(id * 16), table, id));
      let interrupted: Promise<void> = Promise.resolve();
      const run = await runWorker(t.newSink(), stream, batches, {
        between: async (index) => {
          if (index === 1) interrupted = (await t.interruptWriter(table, 2n)).done;
        },
      });
      await interrupted;
      assert.equal(run.error, null);
      assert.equal(run.deadLetters.letters.length, 0);
      assert.ok(run.worker.status().errors >= 1, 'the lost connection is counted');
      assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2), row(3, 3)]);
      assert.equal(await t.position(stream), 'pg:0/30#0');
    });

    void test("with onError 'stop' the worker stops on the failing event, naming table and position: transactions before it apply, nothing of its own or after it, and its batch is not acknowledged", async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const failing = transaction(30n, [
        { op: 'c', table, after: { id: 3n, qty: 3, note: null } },
        { op: 'c', table, after: { id: 1n, qty: 1, note: 'again' } },
      ]);
      const batches = [
        insert(10n, table, 1),
        [...insert(20n, table, 2), ...failing, ...insert(40n, table, 4)],
      ];
      const run = await runWorker(t.newSink(), stream, batches, { onError: 'stop' });
      assert.ok(run.error instanceof CdcError, String(run.error));
      assert.equal(run.error.code, 'APPLY_FAILED');
      assert.match(run.error.message, new RegExp(`pg:0/1E#1.*${table.table}`));
      assert.equal(run.worker.status().state, 'failed');
      assert.equal(run.feed.acknowledged, 1, 'the failing batch is not acknowledged');
      assert.equal(run.deadLetters.letters.length, 0);
      assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2)]);
      assert.equal(await t.position(stream), 'pg:0/14#0');
    });

    void test('an event the replica rejects goes to the dead letters, naming table and position, and the rest of the batch applies', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const failing = transaction(20n, [
        { op: 'c', table, after: { id: 2n, qty: 2, note: null } },
        { op: 'c', table, after: { id: 1n, qty: 1, note: 'again' } },
        { op: 'c', table, after: { id: 3n, qty: 3, note: null } },
      ]);
      const run = await runWorker(t.newSink(), stream, [
        [...insert(10n, table, 1), ...failing, ...insert(30n, table, 4)],
      ]);
      assert.equal(run.error, null);
      assert.equal(run.deadLetters.letters.length, 1);
      const letter = run.deadLetters.letters[0]!;
      assert.equal(letter.consumed.event, failing[1]);
      assert.match(letter.reason, new RegExp(`insert at pg:0/14#1 to .*${table.table}`));
      assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2), row(3, 3), row(4, 4)]);
      assert.equal(await t.position(stream), 'pg:0/1E#0');
      assert.equal(run.worker.status().deadLetters, 1);
      assert.equal(run.feed.acknowledged, 1);
    });

    void test('a table changing shape in the middle of a batch (and of a source transaction) reaches the replica between its events', async () => {
      const stream = t.newStream();
      const v1 = itemsTable();
      const v2: TableSchema = { ...v1, columns: [...v1.columns, column('extra', 'text', { kind: 'text' })] };
      const batch = [
        ...insert(10n, v1, 1),
        ...transaction(20n, [
          { op: 'c', table: v1, after: { id: 2n, qty: 2, note: null } },
          { op: 'c', table: v2, after: { id: 3n, qty: 3, note: null, extra: 'x' } },
          { op: 'u', table: v2, before: { id: 1n }, after: { id: 1n, qty: 1, note: null, extra: 'y' } },
        ]),
        ...transaction(30n, [{ op: 'c', table: v2, after: { id: 4n, qty: 4, note: null, extra: 'z' } }]),
      ];
      const run = await runWorker(t.newSink(), stream, [batch]);
      assert.equal(run.error, null);
      assert.equal(run.deadLetters.letters.length, 0);
      assert.deepEqual(await t.rows(v1), [
        { ...row(1, 1), extra: 'y' },
        { ...row(2, 2), extra: null },
        { ...row(3, 3), extra: 'x' },
        { ...row(4, 4), extra: 'z' },
      ]);
      assert.equal(await t.position(stream), 'pg:0/1E#0');
    });

    void test('missing rows: an update carrying every column inserts its row, one without every column is dead-lettered, a delete changes nothing; each is counted', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const sink = t.newSink();
      const run = await runWorker(sink, stream, [
        [
          ...insert(10n, table, 1),
          ...transaction(20n, [
            { op: 'u', table, before: { id: 5n }, after: { id: 5n, qty: 5, note: 'five' } },
            { op: 'u', table, before: { id: 6n }, after: { id: 6n, qty: 6 }, unchanged: ['note'] },
            { op: 'd', table, before: { id: 7n } },
          ]),
        ],
      ]);
      assert.equal(run.error, null);
      assert.deepEqual(await t.rows(table), [row(1, 1), row(5, 5, 'five')]);
      assert.equal(run.deadLetters.letters.length, 1);
      assert.equal(run.deadLetters.letters[0]!.error.code, 'APPLY_FAILED');
      assert.match(run.deadLetters.letters[0]!.reason, /found no row .* with id=6: .* did not send note/);
      const counts = sink.missingRows().toSorted((a, b) => a.op.localeCompare(b.op));
      const name = `public.${table.table}`;
      assert.deepEqual(counts, [
        { table: name, op: 'delete', count: 1 },
        { table: name, op: 'update', count: 2 },
      ]);
      assert.equal(await t.position(stream), 'pg:0/14#2');

      // The snapshot's copy of the row, folded at a later watermark, lands on the inserted row.
      const copy = await runWorker(t.newSink(), stream, [
        [snapshotRead(30n, 0, table, { id: 5n, qty: 50, note: 'five' })],
      ]);
      assert.equal(copy.error, null);
      assert.deepEqual(await t.rows(table), [row(1, 1), row(5, 50, 'five')]);
    });

    void test('changes after an update that found no row, in the same target transaction, apply in order on top of the row it inserted', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const sink = t.newSink();
      // Rows 1 to 3 exist; row 5 does not. The changes after the missed update go out in the same window of
      // statements as it (and one touches its row): they are written again, one at a time, after it inserted it.
      const run = await runWorker(sink, stream, [
        [
          ...insert(10n, table, 1),
          ...insert(11n, table, 2),
          ...insert(12n, table, 3),
          ...transaction(20n, [
            { op: 'u', table, before: { id: 1n }, after: { id: 1n, qty: 10, note: 'one' } },
            { op: 'u', table, before: { id: 5n }, after: { id: 5n, qty: 5, note: 'five' } },
            { op: 'u', table, before: { id: 5n }, after: { id: 5n, qty: 55, note: 'five' } },
            { op: 'd', table, before: { id: 2n } },
            { op: 'u', table, before: { id: 3n }, after: { id: 3n, qty: 30, note: 'three' } },
          ]),
          ...transaction(30n, [
            { op: 'u', table, before: { id: 5n }, after: { id: 5n, qty: 56, note: 'five' } },
          ]),
        ],
      ]);
      assert.equal(run.error, null);
      assert.equal(run.deadLetters.letters.length, 0);
      assert.deepEqual(await t.rows(table), [row(1, 10, 'one'), row(3, 30, 'three'), row(5, 56, 'five')]);
      assert.deepEqual(sink.missingRows(), [{ table: `public.${table.table}`, op: 'update', count: 1 }]);
      assert.equal(await t.position(stream), 'pg:0/1E#0');
    });

    void test('a stale worker (another applied the stream meanwhile) stops with APPLY_STALE_WORKER and writes nothing; a redelivery to a current one skips what is applied', async () => {
      const stream = t.newStream();
      const table = itemsTable();
      const zombie = t.newSink({ concurrent: true });
      const current = t.newSink({ concurrent: true });
      try {
        await zombie.apply(stream, [whole(insert(10n, table, 1))]);
        // A rebalance hands the stream to another worker, which applies further.
        await current.apply(stream, [whole(insert(20n, table, 2))]);
        // The first worker never learned of it (no group join since): it still holds event 30 of its own.
        const refused = await zombie.apply(stream, [whole(insert(30n, table, 3))]).then(
          () => null,
          (error: unknown) => error,
        );
        assert.ok(refused instanceof CdcError, String(refused));
        assert.equal(refused.code, 'APPLY_STALE_WORKER');
        assert.match(refused.message, /pg:0\/14#0 is ahead of pg:0\/A#0/);
        assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2)]);
        assert.equal(await t.position(stream), 'pg:0/14#0');

        const redelivered = [10n, 20n, 30n].map((lsn, i) => whole(insert(lsn, table, i + 1)));
        const result = await current.apply(stream, redelivered);
        assert.equal(result.skipped, 2);
        assert.equal(result.applied, 1);
        assert.deepEqual(await t.rows(table), [row(1, 1), row(2, 2), row(3, 3)]);
        assert.equal(await t.position(stream), 'pg:0/1E#0');
      } finally {
        await zombie.close();
        await current.close();
      }
    });
  });
}
