import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { formatLsn, lsnFromBigInt, parseLsn } from '../../../schemas/positions/lsn.ts';
import { comparePosition, type EventPosition } from '../../../schemas/positions/position.ts';
import { waitFor } from '../../support/wait.ts';
import { Capture, connectorConfig, createSourceDb, type SourceDb } from './pg-fixture.ts';

describe('PostgreSQL connector recovery and acknowledgement', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('pgrecover');
    await db.sql('CREATE TABLE items (id int PRIMARY KEY)');
  });
  after(async () => {
    await db.drop();
  });

  async function confirmedFlush(slot: string): Promise<string> {
    const result = await db.sql(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    return String((result.rows[0] as { lsn?: unknown } | undefined)?.lsn);
  }

  test('a terminated walsender is recovered by itself with nothing lost and nothing twice', async () => {
    await db.sql('TRUNCATE items');
    const config = connectorConfig(db, { tables: ['public.items'], maxTransactionEvents: 5 });
    const capture = new Capture(new PostgresConnector(config));
    try {
      await capture.waitStreaming();
      for (let i = 1; i <= 10; i++) await db.sql('INSERT INTO items VALUES ($1)', [i]);
      await db.sql('INSERT INTO items SELECT g FROM generate_series(11, 30) g');
      await capture.waitForEvents(30, 'items');
      const killed = await db.sql(
        'SELECT pg_terminate_backend(active_pid) AS ok FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [config.slot],
      );
      assert.equal(
        (killed.rows[0] as { ok?: unknown } | undefined)?.ok,
        true,
        'the walsender was terminated',
      );
      for (let i = 31; i <= 40; i++) await db.sql('INSERT INTO items VALUES ($1)', [i]);
      await db.sql('INSERT INTO items SELECT g FROM generate_series(41, 60) g');
      const events = await capture.waitForEvents(60, 'items');
      await waitFor('a heartbeat after the new events', () => capture.batches.at(-1)?.events.length === 0);
      assert.deepEqual(
        capture.eventsOf('items').map((event) => (event.after as { id: number }).id),
        Array.from({ length: 60 }, (_, i) => i + 1),
        'every row exactly once, in order',
      );
      for (let i = 1; i < events.length; i++)
        assert.equal(comparePosition(events[i - 1]!.source.position, events[i]!.source.position), -1);
      assert.match(capture.connector.status().lastError ?? '', /replication stream/);
      assert.equal(capture.connector.status().state, 'streaming');
    } finally {
      await capture.stop();
    }
  });

  test('only acknowledge() advances confirmed_flush_lsn; a restart resumes after the published position', async () => {
    await db.sql('TRUNCATE items');
    const config = connectorConfig(db, { tables: ['public.items'], heartbeatIntervalMs: 200 });
    const first = new Capture(new PostgresConnector(config));
    let resumeAt: EventPosition | undefined;
    try {
      await first.waitStreaming();
      const initial = await confirmedFlush(config.slot);
      for (let i = 1; i <= 4; i++) await db.sql('INSERT INTO items VALUES ($1)', [i]);
      await first.waitForEvents(4, 'items');
      await waitFor(
        'three heartbeats',
        () => first.batches.filter((batch) => batch.events.length === 0 && batch.commit).length >= 3,
      );
      assert.equal(
        await confirmedFlush(config.slot),
        initial,
        'received events and heartbeats do not confirm anything',
      );

      const second = first.batches.find((batch) =>
        batch.events.some((event) => (event.after as { id: number } | null)?.id === 2),
      );
      assert.ok(second?.commit?.kind === 'pg');
      await first.connector.acknowledge(second.commit);
      // The server confirms the end of the acknowledged commit record, as it does for its own subscribers: that
      // transaction is never sent again, and a synchronous commit waiting on this capture returns.
      await db.sql('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
      const record = await db.sql('SELECT end_lsn::text AS lsn FROM pg_get_wal_record_info($1::pg_lsn)', [
        formatLsn(second.commit.lsn),
      ]);
      const expected = String((record.rows[0] as { lsn: string }).lsn);
      assert.ok(
        lsnFromBigInt(second.commit.lsn) < parseLsn(expected),
        'the commit record ends after it starts',
      );
      await waitFor(
        `confirmed_flush_lsn ${expected}`,
        async () => (await confirmedFlush(config.slot)) === expected,
      );
      await waitFor(
        'status to show the confirmed position',
        () => first.connector.status().confirmed === expected,
      );
      resumeAt = first.eventsOf('items')[2]!.source.position;
    } finally {
      await first.stop();
    }

    // Restart as a publisher would after a crash: it published up to id 3 but confirmed only up to id 2.
    const restarted = new Capture(new PostgresConnector(config), { position: resumeAt ?? null, state: null });
    try {
      await restarted.waitStreaming();
      await db.sql('INSERT INTO items VALUES (5)');
      await restarted.waitForEvents(2, 'items');
      assert.deepEqual(
        restarted.eventsOf('items').map((event) => (event.after as { id: number }).id),
        [4, 5],
        'the slot redelivers id 3 but it is not yielded again',
      );
    } finally {
      await restarted.stop();
    }
  });

  test('idle and fully acknowledged, keepalive replies confirm the WAL end: the slot does not hold back WAL of other tables', async () => {
    await db.sql('CREATE TABLE IF NOT EXISTS elsewhere (id int PRIMARY KEY, v text)');
    // Keepalives every second rather than every 30 s (the setting is per connection), and no heartbeat
    // messages of our own during the test: only keepalive replies can move the slot.
    const url = new URL(db.url);
    url.searchParams.set('options', '-c wal_sender_timeout=2s');
    const config = connectorConfig(db, {
      url: url.toString(),
      tables: ['public.items'],
      heartbeatIntervalMs: 3_600_000,
    });
    const capture = new Capture(new PostgresConnector(config), undefined, { autoAck: true });
    try {
      await capture.waitStreaming();
      await db.sql('INSERT INTO items VALUES (100)');
      await capture.waitForEvents(1, 'items');
      // Changes to a table outside the publication: WAL the slot never sends, only passes over.
      await db.sql("INSERT INTO elsewhere SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g");
      const end = await db.sql('SELECT pg_current_wal_lsn()::text AS lsn');
      const walEnd = String((end.rows[0] as { lsn: string }).lsn);
      await waitFor(
        `confirmed_flush_lsn to reach ${walEnd}`,
        async () => {
          const result = await db.sql(
            'SELECT confirmed_flush_lsn >= $2::pg_lsn AS reached FROM pg_replication_slots WHERE slot_name = $1',
            [config.slot, walEnd],
          );
          return (result.rows[0] as { reached?: boolean } | undefined)?.reached === true;
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      await capture.stop();
    }
  });
});
