/**
 * Snapshots requested while the binlog connector streams (`requestSnapshot`): every row of the table arrives
 * as a snapshot read released at the position it was read at, so replaying the stream in order ends equal to
 * the source while a writer keeps changing the table, also across a restart in the middle.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { createDatabase, connectorConfig, RunningConnector, startWriter, type Writer } from './harness.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { waitFor } from '../../support/wait.ts';

const ROWS = 3000;
/** Above every id the tests write. */
const MARKER = 1_000_000;

type RowImage = Readonly<Record<string, unknown>> | null;

/**
 * Applies the events in order as a replica does while a table is snapshotted: snapshot reads are upserts, an
 * update of a row not copied yet inserts it, a delete of one is a no-op; an insert of a present row is a
 * replayed change and fails.
 */
function replay(events: readonly ChangeEvent[]): Map<string, number> {
  const rows = new Map<string, number>();
  const id = (row: RowImage) => String(row?.id);
  for (const event of events) {
    if (event.op === 'r' || event.op === 'u') {
      if (event.op === 'u') rows.delete(id(event.before));
      rows.set(id(event.after), Number(event.after.v));
    } else if (event.op === 'c') {
      assert.ok(!rows.has(id(event.after)), `insert of present row ${id(event.after)}`);
      rows.set(id(event.after), Number(event.after.v));
    } else if (event.op === 'd') rows.delete(id(event.before));
    else rows.clear();
  }
  return rows;
}

async function tableContent(sql: Connection): Promise<Map<string, number>> {
  const [rows] = await sql.query<RowDataPacket[]>('SELECT id, v FROM s');
  return new Map(rows.map((row) => [String(row.id), Number(row.v)]));
}

void describe('snapshot requested while streaming', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_incr');
    await db.sql.query('CREATE TABLE s (id INT PRIMARY KEY, v INT NOT NULL)');
    await db.sql.query('CREATE TABLE other (id INT PRIMARY KEY)');
  });
  after(async () => {
    await db.drop();
  });

  async function freshRows(count = ROWS): Promise<void> {
    await db.sql.query('DELETE FROM s');
    await db.sql.query(`INSERT INTO s SELECT seq, 0 FROM seq_1_to_${count}`);
  }

  /** Stops the writer and waits until a marker row written after it reached `run`. */
  async function settle(writer: Writer, run: RunningConnector): Promise<void> {
    await writer.stop();
    await db.sql.query('INSERT INTO s VALUES (?, 1)', [MARKER]);
    await run.waitForEvents('the marker row', (events) =>
      events.some((e) => e.op === 'c' && e.after.id === MARKER),
    );
  }

  function assertReplayEquals(events: readonly ChangeEvent[], expected: Map<string, number>): void {
    for (let i = 1; i < events.length; i++)
      assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
    assert.deepEqual(replay(events), expected);
  }

  void test('every row arrives while a writer goes on, and replaying the stream equals the table', async () => {
    await freshRows();
    const run = new RunningConnector(connectorConfig(db.name, { snapshotChunkRows: 250 }));
    const writer = startWriter(db.name, ROWS);
    try {
      await run.waitForState('streaming');
      await run.waitForEvents('some streamed writes', (events) => events.length > 20);
      await run.connector.requestSnapshot(['s']);
      assert.equal(run.connector.status().snapshot?.table, `${db.name}.s`);
      await waitFor(
        'the requested snapshot to finish',
        () => run.connector.status().snapshot?.done === true,
        {
          timeoutMs: 60_000,
        },
      );
      const progress = run.connector.status().snapshot;
      assert.equal(progress?.tablesDone, 1);
      assert.ok((progress?.rowsDone ?? 0) > 0);
      await settle(writer, run);
      const reads = run.events.filter((e) => e.op === 'r');
      assert.ok(reads.length >= ROWS * 0.5, `${reads.length} snapshot reads`);
      assert.ok(
        reads.every((e) => e.source.snapshot),
        'snapshot reads are marked as such',
      );
      assertReplayEquals(run.events, await tableContent(db.sql));
    } finally {
      await writer.stop();
      await run.stop();
    }
  });

  void test('a restart in the middle goes on with the next chunk and still ends equal', async () => {
    // Many small chunks, so the first run stops well before the end.
    await freshRows(40_000);
    const config = connectorConfig(db.name, { snapshotChunkRows: 100 });
    const first = new RunningConnector(config);
    const writer = startWriter(db.name, ROWS);
    let second: RunningConnector | null = null;
    try {
      await first.waitForState('streaming');
      await first.waitForEvents('some streamed writes', (events) => events.length > 20);
      await first.connector.requestSnapshot([]);
      await first.waitForEvents('three chunks', (events) => events.filter((e) => e.op === 'r').length >= 300);
      await first.stop();
      const unfinished = first.resumePoint().state?.incremental as { tableIndex: number; tables: unknown[] };
      assert.ok(unfinished.tableIndex < unfinished.tables.length, 'the first run stopped in the middle');
      second = new RunningConnector(config, first.resumePoint());
      const run = second;
      await waitFor(
        'the requested snapshot to finish',
        async () => {
          await run.waitForState('streaming');
          return run.connector.status().snapshot?.done === true;
        },
        { timeoutMs: 120_000 },
      );
      await settle(writer, run);
      const events = [...first.events, ...run.events];
      const readIds = events
        .filter((e) => e.op === 'r' && e.table.table === 's')
        .map((e) => String(e.after?.id));
      assert.equal(new Set(readIds).size, readIds.length, 'no row read twice');
      assertReplayEquals(
        events.filter((e) => e.table.table === 's'),
        await tableContent(db.sql),
      );
    } finally {
      await writer.stop();
      await first.stop();
      await second?.stop();
    }
  });

  void test('on an idle source the server heartbeats carry the chunks out', async () => {
    await freshRows();
    const run = new RunningConnector(
      connectorConfig(db.name, { snapshotChunkRows: 500, heartbeatIntervalMs: 200 }),
    );
    try {
      await run.waitForState('streaming');
      await run.connector.requestSnapshot([`${db.name}.s`]);
      await waitFor(
        'the requested snapshot to finish',
        () => run.connector.status().snapshot?.done === true,
        {
          timeoutMs: 60_000,
        },
      );
      const reads = run.events.filter((e) => e.op === 'r');
      assert.deepEqual(replay(reads), await tableContent(db.sql));
      assert.equal(reads.length, ROWS);
    } finally {
      await run.stop();
    }
  });

  void test('a table outside the captured ones is refused with its name', async () => {
    const run = new RunningConnector(connectorConfig(db.name));
    try {
      await run.waitForState('streaming');
      await assert.rejects(run.connector.requestSnapshot(['nope.s']), (error: Error) => {
        assert.match(error.message, /cannot snapshot nope\.s/);
        return true;
      });
    } finally {
      await run.stop();
    }
  });
});
