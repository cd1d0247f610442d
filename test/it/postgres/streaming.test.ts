import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import { Capture, connectorConfig, createSourceDb, type SourceDb } from './pg-fixture.ts';

describe('PostgreSQL connector streaming', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('pgstream');
    await db.sql('CREATE TABLE users (id int PRIMARY KEY, name text, score int8)');
    await db.sql('CREATE TABLE other (id int PRIMARY KEY)');
  });
  after(async () => {
    await db.drop();
  });

  test('inserts, updates, deletes and truncate arrive in order with positions and transaction totals', async () => {
    const capture = new Capture(new PostgresConnector(connectorConfig(db, { tables: ['public.users'] })));
    try {
      await capture.waitStreaming();
      await db.sql('BEGIN');
      await db.sql(`INSERT INTO users VALUES (1, 'ann', 9007199254740993), (2, 'bob', 2)`);
      await db.sql(`UPDATE users SET name = 'anne' WHERE id = 1`);
      await db.sql('COMMIT');
      await db.sql('INSERT INTO other VALUES (1)');
      await db.sql('DELETE FROM users WHERE id = 2');
      await db.sql('TRUNCATE users');
      const events = await capture.waitForEvents(5);
      assert.deepEqual(
        events.map((event) => event.op),
        ['c', 'c', 'u', 'd', 't'],
      );
      assert.ok(
        events.every((event) => event.table.table === 'users'),
        'only the published table is captured',
      );
      const [c1, c2, u1, d1, t1] = events;
      assert.deepEqual(c1?.after, { id: 1, name: 'ann', score: 9007199254740993n });
      assert.deepEqual(u1?.after, { id: 1, name: 'anne', score: 9007199254740993n });
      assert.deepEqual(u1?.op === 'u' ? u1.unchanged : null, []);
      assert.deepEqual(d1?.before, { id: 2 });
      assert.deepEqual(
        [c1, c2, u1].map((event) => event?.transaction),
        [
          { id: c1?.source.txId, index: 0, total: 3 },
          { id: c1?.source.txId, index: 1, total: 3 },
          { id: c1?.source.txId, index: 2, total: 3 },
        ],
      );
      assert.deepEqual(d1?.transaction?.total, 1);
      assert.equal(t1?.transaction?.total, 1);
      for (let i = 1; i < events.length; i++) {
        assert.equal(
          comparePosition(events[i - 1]!.source.position, events[i]!.source.position),
          -1,
          'positions strictly increase',
        );
      }
      const nowMicros = BigInt(Date.now()) * 1000n;
      const age = nowMicros - (c1?.source.commitTimeMicros ?? 0n);
      assert.ok(age >= 0n && age < 60_000_000n, `commit time is Unix epoch micros (age ${age} µs)`);
      assert.equal(c1?.source.origin, null);
      const withEvents = capture.batches.filter((batch) => batch.events.length > 0);
      assert.ok(
        withEvents.every((batch) => batch.commit !== null),
        'small transactions are yielded whole with a commit',
      );
    } finally {
      await capture.stop();
    }
  });

  test('text values arrive exactly as stored: a leading byte-order mark, multi-byte and empty text included', async () => {
    const capture = new Capture(new PostgresConnector(connectorConfig(db, { tables: ['public.users'] })));
    try {
      await capture.waitStreaming();
      const names = ['\uFEFFbom first', 'naïve 東京 🙂', '', 'x'.repeat(300)];
      for (const [i, name] of names.entries())
        await db.sql(`INSERT INTO users VALUES ($1, $2, NULL)`, [100 + i, name]);
      const events = await capture.waitForEvents(names.length);
      assert.deepEqual(
        events.map((event) => (event.after as { name: string }).name),
        names,
      );
    } finally {
      await capture.stop();
    }
  });

  test('a transaction larger than maxTransactionEvents is yielded in pieces, total on the last event', async () => {
    await db.sql('CREATE TABLE big (id int PRIMARY KEY)');
    const capture = new Capture(
      new PostgresConnector(connectorConfig(db, { tables: ['public.big'], maxTransactionEvents: 10 })),
    );
    try {
      await capture.waitStreaming();
      await db.sql('INSERT INTO big SELECT g FROM generate_series(1, 35) g');
      const events = await capture.waitForEvents(35);
      assert.deepEqual(
        events.map((event) => (event.after as { id: number }).id),
        Array.from({ length: 35 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        events.map((event) => event.transaction?.index),
        Array.from({ length: 35 }, (_, i) => i),
      );
      assert.deepEqual(
        events.map((event) => event.transaction?.total),
        [...Array.from({ length: 34 }, () => null), 35],
      );
      const batches = capture.batches.filter((batch) => batch.events.length > 0);
      assert.ok(batches.length > 1, 'yielded in several pieces');
      assert.ok(
        batches.slice(0, -1).every((batch) => batch.commit === null),
        'pieces before the last have no commit',
      );
      assert.ok(batches.every((batch) => batch.events.length <= 10));
      assert.notEqual(batches.at(-1)?.commit, null);
    } finally {
      await capture.stop();
    }
  });
});
