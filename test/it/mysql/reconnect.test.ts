import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminConnection, createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import { waitFor } from '../../support/wait.ts';

void describe('connection loss', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_kill');
    await db.sql.query('CREATE TABLE k (id INT PRIMARY KEY)');
  });
  after(async () => {
    await db.drop();
  });

  void test('a KILLed binlog dump thread is recovered by itself: nothing lost, nothing twice', async () => {
    const running = new RunningConnector(connectorConfig(db.name));
    const admin = await adminConnection();
    try {
      await running.waitForState('streaming');
      await db.sql.query('INSERT INTO k VALUES (1)');
      await running.waitForEvents('first row', (events) => events.length >= 1);
      const killed = running.connector.dumpThreadId;
      assert.ok(killed !== null, 'the dump thread id is known while streaming');
      await admin.query('KILL CONNECTION ?', [killed]);
      await db.sql.query('INSERT INTO k VALUES (2)');
      await db.sql.query('INSERT INTO k VALUES (3)');
      const events = await running.waitForEvents('rows written during the outage', (e) => e.length >= 3);
      await waitFor(
        'a new dump thread',
        () => running.connector.dumpThreadId !== null && running.connector.dumpThreadId !== killed,
      );
      await db.sql.query('INSERT INTO k VALUES (4)');
      await running.waitForEvents('a row after recovery', (e) => e.length >= 4);
      assert.deepEqual(
        running.events.map((e) => e.after?.id),
        [1, 2, 3, 4],
      );
      assert.ok(events.length >= 3);
      assert.match(
        running.connector.status().lastError ?? '',
        /./,
        'the loss is reported in status().lastError',
      );
      assert.equal(running.connector.status().state, 'streaming');
    } finally {
      await admin.end();
      await running.stop();
    }
  });
});
