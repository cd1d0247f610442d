import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { emitWatermark } from '../../../connectors/postgres/snapshot/snapshot-runner.ts';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import { waitFor } from '../../support/wait.ts';
import { Capture, bigintSafe, connectorConfig, createSourceDb, type SourceDb } from './pg-fixture.ts';

/**
 * Applies events in order to a map keyed by id, as a replica would: an update keeps the columns it did not
 * send (unchanged TOAST) from the row the replica has; without such a row those columns stay missing.
 */
function applyAll(events: readonly ChangeEvent[]): Map<number, Row> {
  const rows = new Map<number, Row>();
  for (const event of events) {
    switch (event.op) {
      case 'c':
      case 'r':
        rows.set(event.after.id as number, event.after);
        break;
      case 'u': {
        const from = (event.before?.id ?? event.after.id) as number;
        const previous = rows.get(from) ?? {};
        rows.delete(from);
        rows.set(event.after.id as number, { ...previous, ...event.after });
        break;
      }
      case 'd':
        rows.delete(event.before.id as number);
        break;
      case 't':
        rows.clear();
        break;
    }
  }
  return rows;
}

describe('PostgreSQL watermark snapshots', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('pgsnap');
    await db.sql('CREATE TABLE accounts (id int PRIMARY KEY, balance int8 NOT NULL, note text, doc text)');
    // Stored out of line and uncompressed: an update that does not set doc streams it as unchanged TOAST.
    await db.sql('ALTER TABLE accounts ALTER COLUMN doc SET STORAGE EXTERNAL');
    await db.sql(
      `INSERT INTO accounts SELECT g, g * 10, 'row ' || g, repeat(md5(g::text), 80) FROM generate_series(1, 3000) g`,
    );
    await db.sql('CREATE TABLE marker (id int PRIMARY KEY)');
    await db.sql('ANALYZE accounts');
  });
  after(async () => {
    await db.drop();
  });

  test('snapshot reads merged with concurrent updates, deletes and inserts equal the final table', async () => {
    const config = connectorConfig(db, {
      tables: ['public.accounts', 'public.marker'],
      snapshot: 'initial',
      snapshotChunkRows: 100,
    });
    const capture = new Capture(new PostgresConnector(config), undefined, { autoAck: true });
    await capture.waitStreaming();
    let writing = true;
    /**
     * Two writers on their own connections, so commits of one land while the other's are still becoming
     * visible. Each touches only ids of its own parity (id * 7 and id * 3 modulo 3000 keep it): no deadlocks.
     */
    const write = async (parity: 0 | 1): Promise<void> => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const randomId = (): number => 2 + parity + 2 * Math.floor(Math.random() * 1499);
      try {
        for (let next = 100_000 + parity * 1_000_000; writing; next++) {
          const id = randomId();
          await client.query('BEGIN');
          await client.query('UPDATE accounts SET balance = balance + 1, note = $2 WHERE id = $1', [
            id,
            `updated ${next}`,
          ]);
          await client.query('DELETE FROM accounts WHERE id = $1', [(id * 7) % 3000]);
          await client.query('INSERT INTO accounts VALUES ($1, 0, $2, repeat(md5($2), 80))', [
            next,
            `inserted ${next}`,
          ]);
          // Now and then doc itself changes, so a later unchanged-TOAST update must keep the new value.
          if (next % 5 === 0) {
            await client.query('UPDATE accounts SET doc = repeat(md5($2), 80) WHERE id = $1', [
              (id * 3) % 3000,
              `doc ${next}`,
            ]);
          }
          await client.query('COMMIT');
          // A transaction of its own that leaves doc unchanged, on a row the snapshot may not have read yet.
          await client.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [randomId()]);
        }
      } finally {
        await client.end();
      }
    };
    const writer = Promise.all([write(0), write(1)]);
    try {
      await waitFor('snapshot to finish', () => capture.connector.status().snapshot?.done === true, {
        timeoutMs: 120_000,
      });
      writing = false;
      await writer;
      await db.sql('INSERT INTO marker VALUES (1)');
      await capture.waitForEvents(1, 'marker');

      const progress = capture.connector.status().snapshot;
      assert.equal(progress?.tablesDone, 2);
      assert.ok((progress?.rowsDone ?? 0) > 0 && (progress?.rowsDone ?? 0) <= (progress?.rowsTotal ?? 0));
      const events = capture.eventsOf('accounts');
      assert.ok(
        events.some((event) => event.op === 'r'),
        'the snapshot yielded reads',
      );
      assert.ok(
        events.some((event) => event.op === 'u'),
        'the stream carried concurrent updates',
      );
      assert.ok(
        events.some((event) => event.op === 'u' && event.unchanged.includes('doc')),
        'the stream carried updates that left the TOASTed doc unchanged',
      );
      const replica = applyAll(events);
      const source = await db.client.query({
        text: 'SELECT id, balance::text, note, doc FROM accounts ORDER BY id',
      });
      const expected = new Map(
        source.rows.map((row: { id: number; balance: string; note: string; doc: string }) => [
          row.id,
          { id: row.id, balance: BigInt(row.balance), note: row.note, doc: row.doc },
        ]),
      );
      const extra = [...replica.keys()].filter((id) => !expected.has(id));
      const history = (id: number): string =>
        events
          .filter((event) => (event.after ?? event.before)?.id === id)
          .map((event) => `${event.op}@${bigintSafe(event.source.position)} tx ${event.source.txId}`)
          .join('; ');
      const missing = [...expected.keys()].filter((id) => !replica.has(id));
      const txs = new Set(events.map((event) => event.source.txId));
      const order = capture.batches.map(
        (batch) =>
          `${batch.events.length}${batch.events[0]?.op ?? '-'}@${batch.commit?.kind === 'pg' ? batch.commit.lsn : 'null'}${batch.state ? 'S' : ''}`,
      );
      assert.deepEqual(
        extra.map((id) => `${id}: ${history(id)}`),
        [],
        `no row the source does not have; missing ${missing.join(', ')}; txs ${txs.size}; ${order.join(' ')}`,
      );
      assert.equal(replica.size, expected.size, 'same number of rows');
      const differing = [...expected].flatMap(([id, row]) => {
        const copy: Row = replica.get(id) ?? {};
        const columns = Object.keys(row).filter(
          (name) => bigintSafe(copy[name]) !== bigintSafe(row[name as keyof typeof row]),
        );
        return columns.length > 0 ? [`${id}: ${columns.join(', ')} (${history(id)})`] : [];
      });
      assert.deepEqual(differing, [], 'every row equals the source, TOASTed doc included');
      const stateBatches = capture.batches.filter((batch) => batch.state !== undefined);
      assert.ok(
        stateBatches.every((batch) => batch.commit !== null),
        'snapshot progress is saved only at safe positions',
      );
      assert.deepEqual(
        stateBatches.at(-1)?.state,
        { postgresSnapshot: null },
        'a finished snapshot clears its state',
      );
    } finally {
      writing = false;
      await writer;
      await capture.stop();
    }
  });

  // The walsender sends only flushed WAL, and a non-transactional message is not flushed by itself: every chunk
  // would wait for the WAL writer (wal_writer_delay) before the stream saw its HIGH watermark.
  test('a HIGH watermark is flushed when it is written, so the stream gets it at once', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const end = await emitWatermark(pool, `flush-check-${attempt}`, 'high');
        const { rows } = await db.sql('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS flushed', [end]);
        const flushed = (rows[0] as { flushed?: boolean } | undefined)?.flushed;
        assert.equal(flushed, true, `the HIGH watermark ending at ${end} is not flushed yet`);
      }
    } finally {
      await pool.end();
    }
  });

  test('an interrupted snapshot resumes from the saved state at the next chunk', async () => {
    const config = connectorConfig(db, {
      tables: ['public.accounts'],
      snapshot: 'initial',
      snapshotChunkRows: 200,
    });
    const first = new Capture(new PostgresConnector(config), undefined, { autoAck: true });
    await waitFor(
      'three snapshot chunks',
      () => first.batches.filter((batch) => batch.state !== undefined).length >= 3,
    );
    await first.stop();
    const saved = first.batches.filter((batch) => batch.state !== undefined).at(-1);
    const lastPublished = first.batches
      .filter((batch) => batch.events.length > 0)
      .at(-1)
      ?.events.at(-1)?.source.position;
    assert.ok(saved?.state && lastPublished);
    assert.notDeepEqual(saved.state, { postgresSnapshot: null }, 'interrupted before the end');
    const firstReads = first.eventsOf('accounts').filter((event) => event.op === 'r');

    const second = new Capture(
      new PostgresConnector(config),
      { position: lastPublished, state: saved.state },
      { autoAck: true },
    );
    try {
      await waitFor('resumed snapshot to finish', () => second.connector.status().snapshot?.done === true, {
        timeoutMs: 60_000,
      });
      const secondReads = second.eventsOf('accounts').filter((event) => event.op === 'r');
      const ids = [...firstReads, ...secondReads].map((event) => event.after?.id as number);
      const source = await db.sql('SELECT id FROM accounts ORDER BY id');
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        source.rows.map((row: { id: number }) => row.id),
        'every row read exactly once across the interruption',
      );
      assert.ok(
        (secondReads[0]?.after?.id as number) > (firstReads.at(-1)?.after?.id as number),
        'continued after the last chunk',
      );
    } finally {
      await second.stop();
    }
  });
});
