import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { createDatabase, connectorConfig, RunningConnector, startWriter, type Writer } from './harness.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { waitFor } from '../../support/wait.ts';

const ROWS = 3000;

/**
 * How the table is keyed. The text key mixes letter cases under a case-insensitive collation, so the server's
 * key order (`a00010` < `B00009`) differs from byte order (`B00009` < `a00010`): a connector placing rows by
 * byte order around a chunk boundary would drop or repeat changes.
 */
interface KeyKind {
  readonly name: string;
  readonly column: string;
  readonly key: (id: number) => string | number;
}

const INT_KEY: KeyKind = { name: 'INT', column: 'id INT PRIMARY KEY', key: (id) => id };
const TEXT_KEY: KeyKind = {
  name: 'VARCHAR, case-insensitive collation',
  column: 'id VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY',
  key: (id) => {
    const letter = 'abcdefghij'[id % 10]!;
    return `${id % 3 === 0 ? letter.toUpperCase() : letter}${String(id).padStart(5, '0')}`;
  },
};

type RowImage = Readonly<Record<string, unknown>>;

/** The compared part of a row: v, and x where the table has it. */
function rowValue(row: RowImage): string {
  return JSON.stringify([Number(row.v), row.x ?? null]);
}

/**
 * Applies one table's events in order to a map id -> row as a strict replica would: an insert of a present key,
 * or an update or delete of an absent one, fails (a replayed or lost change); snapshot reads are upserts.
 */
function replay(events: readonly ChangeEvent[], table = 's'): Map<string, string> {
  const rows = new Map<string, string>();
  const id = (row: RowImage | null): string => String(row?.id);
  for (const event of events.filter((e) => e.table.table === table)) {
    switch (event.op) {
      case 'r':
        rows.set(id(event.after), rowValue(event.after));
        break;
      case 'c':
        assert.ok(!rows.has(id(event.after)), `insert of present key ${id(event.after)} in ${table}`);
        rows.set(id(event.after), rowValue(event.after));
        break;
      case 'u':
        assert.ok(rows.delete(id(event.before)), `update of absent key ${id(event.before)} in ${table}`);
        rows.set(id(event.after), rowValue(event.after));
        break;
      case 'd':
        assert.ok(rows.delete(id(event.before)), `delete of absent key ${id(event.before)} in ${table}`);
        break;
      case 't':
        rows.clear();
        break;
    }
  }
  return rows;
}

async function tableContent(sql: Connection, table = 's'): Promise<Map<string, string>> {
  const [rows] = await sql.query<RowDataPacket[]>(`SELECT * FROM ${table}`);
  return new Map(rows.map((row) => [String(row.id), rowValue(row)]));
}

/** Where a consumer that published `batches` resumes (the connector's state is cumulative). */
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

  async function freshTable(kind: KeyKind): Promise<void> {
    await db.sql.query('DROP TABLE IF EXISTS s');
    await db.sql.query(`CREATE TABLE s (${kind.column}, v INT NOT NULL)`);
    const values = Array.from({ length: ROWS }, (_, i) => [kind.key(i + 1), 0]);
    await db.sql.query('INSERT INTO s VALUES ?', [values]);
  }

  /** Stops the writer, writes a marker row and waits until the stream delivered it. */
  async function settle(writer: Writer, kind: KeyKind, last: RunningConnector): Promise<number> {
    const writes = await writer.stop();
    const marker = kind.key(ROWS * 10);
    await db.sql.query('INSERT INTO s VALUES (?, 1)', [marker]);
    await last.waitForEvents(
      'the marker row',
      (events) => events.some((e) => e.op === 'c' && e.after.id === marker),
      60_000,
    );
    return writes;
  }

  function assertOrderedAndEqual(events: readonly ChangeEvent[], expected: Map<string, string>): void {
    for (let i = 1; i < events.length; i++)
      assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
    assert.deepEqual(replay(events), expected);
  }

  void test('snapshot under concurrent writes, then stream: replaying everything equals the final table', async () => {
    await freshTable(INT_KEY);
    const writer = startWriter(db.name, ROWS, INT_KEY.key);
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
      const writes = await settle(writer, INT_KEY, running);
      assert.ok(writes > 0);
      const events = running.events;
      assert.ok(events.filter((e) => e.op === 'r').length > 0);
      assertOrderedAndEqual(events, await tableContent(db.sql));
    } finally {
      await writer.stop();
      await running.stop();
    }
  });

  for (const kind of [INT_KEY, TEXT_KEY]) {
    void test(`a snapshot restarted twice mid-way (${kind.name} key) goes on where it stopped: no change lost or replayed`, async () => {
      await freshTable(kind);
      const writer = startWriter(db.name, ROWS, kind.key);
      const config = connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 200 });
      const runs: RunningConnector[] = [];
      const published: CaptureBatch[] = [];
      try {
        // Two runs stop after a few chunks each, while the writer goes on; the third finishes.
        for (const chunks of [3, 4]) {
          const run = new RunningConnector(config, publishedUpTo(published));
          runs.push(run);
          await run.waitForEvents(`${chunks} more chunks`, () => run.batches.length >= chunks);
          await run.stop();
          published.push(...run.batches.slice(0, chunks));
        }
        const last = new RunningConnector(config, publishedUpTo(published));
        runs.push(last);
        await waitFor('snapshot done', () => last.connector.status().snapshot?.done === true, {
          timeoutMs: 60_000,
        });
        await settle(writer, kind, last);
        const events = [...published.flatMap((b) => b.events), ...last.events];
        const snapshotIds = events.filter((e) => e.op === 'r').map((e) => String(e.after.id));
        assert.equal(new Set(snapshotIds).size, snapshotIds.length, 'no row read twice by the snapshot');
        assertOrderedAndEqual(events, await tableContent(db.sql));
      } finally {
        await writer.stop();
        for (const run of runs) await run.stop();
      }
    });
  }

  void test('a TRUNCATE between a stopped snapshot and its restart empties the table once, then the rows return', async () => {
    await freshTable(INT_KEY);
    const config = connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 200 });
    const first = new RunningConnector(config);
    const second: RunningConnector[] = [];
    try {
      await first.waitForEvents('three chunks', () => first.batches.length >= 3);
      await first.stop();
      const published = first.batches.slice(0, 3);
      // While the connector is down: some changes, a truncate, then new rows on both sides of the boundary.
      await db.sql.query('UPDATE s SET v = 7 WHERE id IN (10, 2000)');
      await db.sql.query('TRUNCATE TABLE s');
      await db.sql.query('INSERT INTO s VALUES (5, 1), (2500, 2), (2999, 3)');
      await db.sql.query('DELETE FROM s WHERE id = 2999');
      const run = new RunningConnector(config, publishedUpTo(published));
      second.push(run);
      await waitFor('snapshot done', () => run.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      await db.sql.query('INSERT INTO s VALUES (?, 1)', [ROWS * 10]);
      await run.waitForEvents('the marker row', (events) =>
        events.some((e) => e.op === 'c' && e.after.id === ROWS * 10),
      );
      const events = [...published.flatMap((b) => b.events), ...run.events];
      assert.equal(events.filter((e) => e.op === 't').length, 1, 'the truncate is streamed once');
      assertOrderedAndEqual(events, await tableContent(db.sql));
    } finally {
      await first.stop();
      for (const run of second) await run.stop();
    }
  });

  async function twoTables(rowsA: number): Promise<void> {
    await db.sql.query('DROP TABLE IF EXISTS s, a, b');
    await db.sql.query('CREATE TABLE a (id INT PRIMARY KEY, v INT NOT NULL)');
    await db.sql.query('CREATE TABLE b (id INT PRIMARY KEY, v INT NOT NULL)');
    await db.sql.query('INSERT INTO a SELECT seq, 0 FROM seq_1_to_' + String(rowsA));
    await db.sql.query('INSERT INTO b SELECT seq, 0 FROM seq_1_to_500');
  }

  /** Every row change of both tables applied in order equals the source, the new column included. */
  async function assertTablesEqual(events: readonly ChangeEvent[]): Promise<void> {
    for (const table of ['a', 'b'])
      assert.deepEqual(replay(events, table), await tableContent(db.sql, table), table);
  }

  void test('a column added to a table the snapshot has not read yet: the snapshot reopens there, no old-shape change follows its rows', async () => {
    await twoTables(20_000);
    const run = new RunningConnector(
      connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 100 }),
    );
    try {
      // Held after its first chunk, the snapshot cannot reach b (200 chunks of a later) before b changes shape.
      run.hold();
      await run.waitForEvents('the first chunk of a', (events) => events.length > 0);
      await db.sql.query('UPDATE b SET v = 1 WHERE id <= 100');
      await db.sql.query('ALTER TABLE b ADD COLUMN x INT NULL DEFAULT 5');
      await db.sql.query('UPDATE b SET v = 2, x = 6 WHERE id > 400');
      assert.ok(!run.events.some((e) => e.table.table === 'b'), 'b not read before its column was added');
      run.release();
      await waitFor('snapshot done', () => run.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      await db.sql.query('INSERT INTO b VALUES (100000, 3, 7)');
      const events = await run.waitForEvents('the marker row', (all) =>
        all.some((e) => e.op === 'c' && e.after.id === 100_000),
      );
      const bRead = events.filter((e) => e.op === 'r' && e.table.table === 'b');
      assert.ok(
        bRead.length > 0 && bRead.every((e) => e.after !== null && 'x' in e.after),
        'b was read in its new shape',
      );
      const firstBRead = events.indexOf(bRead[0]!);
      const oldShape = events
        .slice(firstBRead)
        .filter((e) => e.table.table === 'b' && !e.table.columns.some((c) => c.name === 'x'));
      assert.deepEqual(oldShape, [], 'no change in the old shape of b after its snapshot rows');
      await assertTablesEqual(events);
    } finally {
      await run.stop();
    }
  });

  void test('a column added to a half-read table while the connector was down: it is truncated and read again in its new shape', async () => {
    await twoTables(3_000);
    const config = connectorConfig(db.name, { snapshot: 'initial', snapshotChunkRows: 200 });
    const first = new RunningConnector(config);
    const runs = [first];
    try {
      await first.waitForEvents('three chunks', () => first.batches.length >= 3);
      await first.stop();
      const published = first.batches.slice(0, 3);
      await db.sql.query('UPDATE a SET v = 1 WHERE id IN (5, 2500)');
      await db.sql.query('DELETE FROM a WHERE id IN (6, 2600)');
      await db.sql.query('ALTER TABLE a ADD COLUMN x INT NULL DEFAULT 5');
      await db.sql.query('UPDATE a SET v = 2, x = 9 WHERE id IN (7, 2700)');
      const second = new RunningConnector(config, publishedUpTo(published));
      runs.push(second);
      await waitFor('snapshot done', () => second.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      await db.sql.query('INSERT INTO b VALUES (100000, 3)');
      await second.waitForEvents('the marker row', (all) =>
        all.some((e) => e.op === 'c' && e.after.id === 100_000),
      );
      const events = [...published.flatMap((b) => b.events), ...second.events];
      const truncates = events.filter((e) => e.op === 't');
      assert.equal(truncates.length, 1, 'one truncate of a');
      assert.equal(truncates[0]?.source.snapshot, true, 'the truncate is part of the snapshot');
      await assertTablesEqual(events);
    } finally {
      for (const run of runs) await run.stop();
    }
  });
});
