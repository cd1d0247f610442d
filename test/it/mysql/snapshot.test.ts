import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { adminConnection, createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { waitFor } from '../../support/wait.ts';

const ROWS = 3000;

/** Applies events in order to a map id -> v, as a replica would. */
function replay(events: readonly ChangeEvent[]): Map<number, number> {
  const table = new Map<number, number>();
  for (const event of events) {
    switch (event.op) {
      case 'r':
      case 'c':
        table.set(Number(event.after.id), Number(event.after.v));
        break;
      case 'u':
        if (event.before) table.delete(Number(event.before.id));
        table.set(Number(event.after.id), Number(event.after.v));
        break;
      case 'd':
        table.delete(Number(event.before.id));
        break;
      case 't':
        table.clear();
        break;
    }
  }
  return table;
}

async function tableContent(sql: Connection): Promise<Map<number, number>> {
  const [rows] = await sql.query<RowDataPacket[]>('SELECT id, v FROM s');
  return new Map(rows.map((row) => [Number(row.id), Number(row.v)]));
}

/** Random single-row writes from another connection until stopped. */
function startWriter(database: string): { stop: () => Promise<number> } {
  let running = true;
  let writes = 0;
  const done = (async () => {
    const sql = await adminConnection(database);
    try {
      while (running) {
        const id = 1 + Math.floor(Math.random() * ROWS * 1.2);
        const choice = Math.random();
        if (choice < 0.4)
          await sql.query('INSERT INTO s VALUES (?, ?) ON DUPLICATE KEY UPDATE v = v + 1', [id, writes]);
        else if (choice < 0.8) await sql.query('UPDATE s SET v = ? WHERE id = ?', [writes, id]);
        else await sql.query('DELETE FROM s WHERE id = ?', [id]);
        writes++;
      }
    } finally {
      await sql.end();
    }
    return writes;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}

function publishedUpTo(batches: readonly CaptureBatch[]): ResumePoint {
  let position: ResumePoint['position'] = null;
  let state: ResumePoint['state'] = null;
  for (const batch of batches) {
    const last = batch.events[batch.events.length - 1];
    if (last) position = last.source.position;
    if (batch.state) state = batch.state;
  }
  return { position, state };
}

void describe('initial snapshot handed over to the stream', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_snap');
  });
  after(async () => {
    await db.drop();
  });

  async function freshTable(): Promise<void> {
    await db.sql.query('DROP TABLE IF EXISTS s');
    await db.sql.query('CREATE TABLE s (id INT PRIMARY KEY, v INT NOT NULL)');
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 0)`).join(',');
    await db.sql.query(`INSERT INTO s VALUES ${values}`);
  }

  /** Stops the writer, writes a marker row and waits until the stream delivered it. */
  async function settle(
    writer: { stop: () => Promise<number> },
    ...runs: RunningConnector[]
  ): Promise<number> {
    const writes = await writer.stop();
    await db.sql.query('INSERT INTO s VALUES (?, 1)', [ROWS * 10]);
    const last = runs[runs.length - 1]!;
    await last.waitForEvents(
      'the marker row',
      (events) => events.some((e) => e.op === 'c' && e.after.id === ROWS * 10),
      60_000,
    );
    return writes;
  }

  void test('snapshot under concurrent writes, then stream: replaying everything equals the final table', async () => {
    await freshTable();
    const writer = startWriter(db.name);
    await waitFor('some concurrent writes', async () => (await tableContent(db.sql)).size !== ROWS);
    const running = new RunningConnector(
      connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 250 }),
    );
    try {
      await waitFor('snapshot done', () => running.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      const progress = running.connector.status().snapshot;
      assert.equal(progress?.tablesDone, 1);
      assert.ok((progress?.rowsDone ?? 0) > 0 && (progress?.rowsTotal ?? 0) > 0);
      const writes = await settle(writer, running);
      assert.ok(writes > 0);
      const events = running.events;
      assert.ok(events.filter((e) => e.op === 'r').length > 0);
      for (let i = 1; i < events.length; i++)
        assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
      assert.deepEqual(replay(events), await tableContent(db.sql));
    } finally {
      await writer.stop();
      await running.stop();
    }
  });

  void test('a snapshot restarted after some published chunks continues where it stopped and still ends equal', async () => {
    await freshTable();
    const writer = startWriter(db.name);
    const config = connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 200 });
    const first = new RunningConnector(config);
    let second: RunningConnector | null = null;
    try {
      await first.waitForEvents('three chunks', () => first.batches.length >= 3);
      await first.stop();
      const published = first.batches.slice(0, 3);
      second = new RunningConnector(config, publishedUpTo(published));
      await waitFor('snapshot done', () => second!.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      await settle(writer, second);
      const events = [...published.flatMap((b) => b.events), ...second.events];
      const snapshotIds = events.filter((e) => e.op === 'r').map((e) => Number(e.after.id));
      assert.equal(new Set(snapshotIds).size, snapshotIds.length, 'no row read twice by the snapshot');
      for (let i = 1; i < events.length; i++)
        assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
      assert.deepEqual(replay(events), await tableContent(db.sql));
    } finally {
      await writer.stop();
      await first.stop();
      await second?.stop();
    }
  });
});
