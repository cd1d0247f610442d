import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { CdcError } from '../../../common/errors.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';
import { applyBatches, origins } from './harness.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop(origins());
});

function itemsTable() {
  return pgTable(
    'public',
    uniqueName('items'),
    [column('id', 'integer', { kind: 'int32' }, false), column('qty', 'integer', { kind: 'int32' })],
    ['id'],
  );
}

/** The replica has a rule the source does not: quantities must be positive. */
async function addReplicaConstraint(table: string): Promise<void> {
  await db.query(`ALTER TABLE public."${table}" ADD CONSTRAINT qty_positive CHECK (qty > 0)`);
}

void describe('PostgreSQL apply failures', () => {
  void test('an event the replica rejects goes to the dead letters, naming table and position, and the rest applies', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    await applyBatches(db.url, stream, [transaction(10n, [{ op: 'c', table, after: { id: 1, qty: 1 } }])]);
    await addReplicaConstraint(table.table);
    const batch = [
      ...transaction(20n, [{ op: 'c', table, after: { id: 2, qty: 1 } }]),
      ...transaction(30n, [
        { op: 'c', table, after: { id: 3, qty: 1 } },
        { op: 'c', table, after: { id: 4, qty: -1 } },
        { op: 'c', table, after: { id: 5, qty: 1 } },
      ]),
      ...transaction(40n, [{ op: 'u', table, after: { id: 1, qty: 9 } }]),
    ];
    const run = await applyBatches(db.url, stream, [batch]);
    assert.equal(run.error, null);
    assert.deepEqual(await db.query(`SELECT id, qty FROM public."${table.table}" ORDER BY id`), [
      { id: '1', qty: '9' },
      { id: '2', qty: '1' },
      { id: '3', qty: '1' },
      { id: '5', qty: '1' },
    ]);
    assert.equal(run.deadLetters.letters.length, 1);
    const letter = run.deadLetters.letters[0]!;
    assert.equal(letter.consumed.event.after?.id, 4);
    assert.match(letter.reason, new RegExp(`public\\.${table.table}`));
    assert.match(letter.reason, /pg:0\/1E#1/);
    assert.match(letter.reason, /qty_positive/);
    assert.equal(letter.error.code, 'APPLY_FAILED');
    assert.equal(run.worker.status().deadLetters, 1);
    assert.equal(run.feed.acknowledged, 1);
    const positions = await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [
      stream,
    ]);
    assert.deepEqual(positions, [{ position: 'pg:0/28#0' }]);
  });

  void test("with onError 'stop' the worker stops on the failing event, naming it, and applies nothing after it", async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    await applyBatches(db.url, stream, [transaction(10n, [{ op: 'c', table, after: { id: 1, qty: 1 } }])]);
    await addReplicaConstraint(table.table);
    const batch = [
      ...transaction(20n, [{ op: 'c', table, after: { id: 2, qty: 1 } }]),
      ...transaction(30n, [
        { op: 'c', table, after: { id: 3, qty: 1 } },
        { op: 'u', table, after: { id: 1, qty: 0 } },
      ]),
      ...transaction(40n, [{ op: 'c', table, after: { id: 4, qty: 1 } }]),
    ];
    const run = await applyBatches(db.url, stream, [batch], { onError: 'stop' });
    assert.ok(run.error instanceof CdcError, `expected a CdcError, got ${String(run.error)}`);
    assert.equal(run.error.code, 'APPLY_FAILED');
    assert.match(run.error.message, /pg:0\/1E#1/);
    assert.match(run.error.message, new RegExp(`public\\.${table.table}`));
    assert.equal(run.worker.status().state, 'failed');
    assert.equal(run.feed.acknowledged, 0, 'the failing batch must not be acknowledged');
    assert.equal(run.deadLetters.letters.length, 0);
    // Transactions before the failing one applied; the failing one and everything after did not.
    assert.deepEqual(await db.query(`SELECT id, qty FROM public."${table.table}" ORDER BY id`), [
      { id: '1', qty: '1' },
      { id: '2', qty: '1' },
    ]);
    assert.deepEqual(
      await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [stream]),
      [{ position: 'pg:0/14#0' }],
    );
  });

  void test('a transaction cut by a batch boundary applies in parts, and a redelivery of the whole applies it once', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    const big = transaction(
      10n,
      [1, 2, 3, 4, 5].map((id) => ({ op: 'c' as const, table, after: { id, qty: id } })),
      { totalOnLastOnly: true },
    );
    const first = await applyBatches(db.url, stream, [big.slice(0, 3)]);
    assert.equal(first.error, null);
    assert.deepEqual(
      await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [stream]),
      [{ position: 'pg:0/A#2' }],
    );
    // A crash here redelivers from an earlier offset: the first three are recognized, the last two applied.
    const second = await applyBatches(db.url, stream, [big.slice(1, 4), big.slice(4)]);
    assert.equal(second.error, null);
    assert.deepEqual(await db.query(`SELECT count(*) AS n, sum(qty) AS total FROM public."${table.table}"`), [
      { n: '5', total: '15' },
    ]);
    assert.equal(second.worker.status().transactionsApplied, 1);
  });

  void test('a transaction whose end is in the next batch waits for it: the replica never shows it half applied', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    const small = transaction(5n, [{ op: 'c' as const, table, after: { id: 100, qty: 1 } }]);
    const big = transaction(
      10n,
      [1, 2, 3].map((id) => ({ op: 'c' as const, table, after: { id, qty: id } })),
      { totalOnLastOnly: true },
    );
    const seen: string[] = [];
    const run = await applyBatches(db.url, stream, [[...small, ...big.slice(0, 2)], big.slice(2)], {
      between: async (index) => {
        if (index === 1) {
          const rows = await db.query(`SELECT id::text FROM public."${table.table}" ORDER BY id`);
          seen.push(...rows.map((row) => String(row.id)));
        }
      },
    });
    assert.equal(run.error, null);
    assert.deepEqual(seen, ['100'], 'after the first batch only the complete transaction is on the replica');
    assert.deepEqual(await db.query(`SELECT count(*) AS n, sum(qty) AS total FROM public."${table.table}"`), [
      { n: '4', total: '7' },
    ]);
    assert.equal(run.worker.status().transactionsApplied, 2);
  });

  void test('a target connection lost in the middle of a transaction is retried, not dead-lettered, and nothing is lost or doubled', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    const batches = [1, 2, 3].map((n) =>
      transaction(BigInt(n * 10), [{ op: 'c', table, after: { id: n, qty: n } }]),
    );
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    let killer: Promise<void> = Promise.resolve();
    try {
      const run = await applyBatches(db.url, stream, batches, {
        between: async (index) => {
          if (index !== 1) return;
          // Hold the table so the worker's insert waits inside its transaction, then cut its connection there.
          await admin.query('BEGIN');
          await admin.query(`LOCK TABLE public."${table.table}" IN ACCESS EXCLUSIVE MODE`);
          killer = (async () => {
            await waitFor('the apply session to wait on the lock', async () => {
              const waiting = await admin.query(
                `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cdc-apply' AND wait_event_type = 'Lock'`,
              );
              return waiting.rowCount === 1;
            });
            await admin.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cdc-apply'`,
            );
            await admin.query('ROLLBACK');
          })();
        },
      });
      await killer;
      assert.equal(run.error, null);
      assert.equal(run.deadLetters.letters.length, 0);
      assert.ok(run.worker.status().errors >= 1, 'the lost connection is counted');
      assert.deepEqual(await db.query(`SELECT id FROM public."${table.table}" ORDER BY id`), [
        { id: '1' },
        { id: '2' },
        { id: '3' },
      ]);
      assert.deepEqual(
        await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [stream]),
        [{ position: 'pg:0/1E#0' }],
      );
    } finally {
      await killer;
      await admin.end();
    }
  });

  void test('applied commits carry the replication origin of the stream with the source commit position', async () => {
    const stream = uniqueName('s');
    const table = itemsTable();
    await applyBatches(db.url, stream, [
      transaction(0x1234n, [{ op: 'c', table, after: { id: 1, qty: 1 } }]),
    ]);
    const progress = await db.query('SELECT pg_replication_origin_progress($1, true) AS lsn', [
      `cdc_${stream}`,
    ]);
    assert.deepEqual(progress, [{ lsn: '0/1234' }]);
  });
});
