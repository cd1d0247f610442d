import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import type { Connection } from 'mysql2/promise';

void describe('MariaDB binlog streaming', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let sql: Connection;

  before(async () => {
    db = await createDatabase('mysql_stream');
    sql = db.sql;
    await sql.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40) NOT NULL, qty INT)');
  });
  after(async () => {
    await db.drop();
  });

  void test('inserts, updates, deletes and truncate arrive in order, whole transactions with positions and totals', async () => {
    const running = new RunningConnector(connectorConfig(db.name));
    try {
      await running.waitForState('streaming');
      await sql.query(
        "START TRANSACTION; INSERT INTO orders VALUES (1, 'apple', 1), (2, 'pear', 2); UPDATE orders SET qty = 5 WHERE id = 1; COMMIT",
      );
      await sql.query('DELETE FROM orders WHERE id = 2');
      await sql.query('TRUNCATE orders');
      const events = await running.waitForEvents('five events', (e) => e.length >= 5);
      assert.deepEqual(
        events.map((e) => e.op),
        ['c', 'c', 'u', 'd', 't'],
      );
      const [first, second, update, del, truncate] = events;
      assert.deepEqual(first!.after, { id: 1, item: 'apple', qty: 1 });
      assert.deepEqual(update!.before, { id: 1, item: 'apple', qty: 1 });
      assert.deepEqual(update!.after, { id: 1, item: 'apple', qty: 5 });
      assert.deepEqual(del!.before, { id: 2, item: 'pear', qty: 2 });
      assert.equal(truncate!.table.table, 'orders');
      assert.deepEqual(
        [first, second, update].map((e) => e!.transaction),
        [0, 1, 2].map((index) => ({ id: first!.source.txId, index, total: 3 })),
      );
      assert.equal(del!.transaction?.total, 1);
      assert.notEqual(del!.source.txId, first!.source.txId);
      for (let i = 1; i < events.length; i++)
        assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
      assert.equal(first!.source.origin, null);
      assert.ok(first!.source.commitTimeMicros > BigInt(Date.now() - 60_000) * 1000n);
      assert.deepEqual(first!.table.key, ['id']);
      assert.equal(first!.table.beforeImage, 'full');
      const status = running.connector.status();
      assert.equal(status.state, 'streaming');
      assert.equal(status.kind, 'mariadb');
      assert.match(status.received ?? '', /^\d+-\d+-\d+.* \(seq \d+\)$/);
      assert.ok(status.lagMillis !== null && status.lagMillis < 60_000);
      const commit = first!.source.position.commit;
      assert.equal(commit.kind, 'binlog');
      if (commit.kind === 'binlog') assert.match(commit.gtidSet, /^(\d+-\d+-\d+)(,\d+-\d+-\d+)*$/);
    } finally {
      await running.stop();
    }
  });
});
