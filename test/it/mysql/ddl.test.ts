import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, connectorConfig, RunningConnector } from './harness.ts';

void describe('DDL in the binlog', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_ddl');
    await db.sql.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))');
  });
  after(async () => {
    await db.drop();
  });

  void test('ADD and DROP COLUMN mid-stream: each following event carries the table definition it was written under', async () => {
    const running = new RunningConnector(connectorConfig(db.name));
    try {
      await running.waitForState('streaming');
      await db.sql.query("INSERT INTO items VALUES (1, 'one')");
      await db.sql.query('ALTER TABLE items ADD COLUMN price DECIMAL(8,2) NOT NULL DEFAULT 0');
      await db.sql.query("INSERT INTO items VALUES (2, 'two', 9.99)");
      await db.sql.query('ALTER TABLE items DROP COLUMN name');
      await db.sql.query('INSERT INTO items VALUES (3, 1.50)');
      await db.sql.query('CREATE TABLE later (k VARCHAR(10) PRIMARY KEY)');
      await db.sql.query("INSERT INTO later VALUES ('x')");
      const events = await running.waitForEvents('four inserts', (e) => e.length >= 4);
      assert.deepEqual(
        events.map((e) => e.after),
        [{ id: 1, name: 'one' }, { id: 2, name: 'two', price: '9.99' }, { id: 3, price: '1.50' }, { k: 'x' }],
      );
      assert.deepEqual(
        events.map((e) => e.table.columns.map((c) => `${c.name}:${c.sourceType}`)),
        [
          ['id:int(11)', 'name:varchar(20)'],
          ['id:int(11)', 'name:varchar(20)', 'price:decimal(8,2)'],
          ['id:int(11)', 'price:decimal(8,2)'],
          ['k:varchar(10)'],
        ],
      );
      assert.deepEqual(events[3]!.table.key, ['k']);
    } finally {
      await running.stop();
    }
  });
});
