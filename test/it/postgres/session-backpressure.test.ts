/**
 * The replication connection's backpressure, against a real walsender: a stream that takes its messages slowly
 * holds a bounded number of them (the socket is paused while the queue is full), and still gets every message,
 * in order; and one stopped while paused still ends. Without the pause a catch-up would queue the whole backlog
 * in memory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLogger } from '../../../common/logger.ts';
import { ReplicationSession } from '../../../connectors/postgres/replication/replication-session.ts';
import { ZERO_LSN } from '../../../schemas/positions/lsn.ts';
import { createSourceDb, type SourceDb } from './pg-fixture.ts';
import { waitFor } from '../../support/wait.ts';

const ROWS = 50_000;
const CAPACITY = 64;

let db: SourceDb;
before(async () => {
  db = await createSourceDb('pgpause');
  await db.sql('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
  await db.sql('CREATE PUBLICATION pause_pub FOR TABLE items');
  await db.sql(`SELECT pg_create_logical_replication_slot('pause_slot', 'pgoutput')`);
  // One transaction written before the stream starts: the walsender has all of it to send at once.
  await db.sql(`INSERT INTO items SELECT g, repeat('x', 20) FROM generate_series(1, ${ROWS}) g`);
});
after(async () => {
  await db.drop();
});

/** A session on the test's slot that never confirms anything, so each one is sent the whole transaction. */
function newSession(): ReplicationSession {
  return new ReplicationSession({
    url: db.url,
    slot: 'pause_slot',
    publication: 'pause_pub',
    applicationName: 'cdc:pause-test',
    logger: createLogger({ level: 'silent' }),
    replyLsn: () => ZERO_LSN,
    queueCapacity: CAPACITY,
  });
}

test('a slow stream holds a bounded number of messages and still gets every one, in order', async () => {
  const session = newSession();
  session.start();
  try {
    let inserted = 0;
    let largest = 0;
    let lastId = 0;
    while (inserted < ROWS) {
      largest = Math.max(largest, session.backlog);
      const item = await session.queue.take(60_000);
      assert.ok(item, 'the stream ended or timed out before the last row');
      const { message } = item;
      if (message.tag === 'insert') {
        const id = Number(message.new['id']);
        assert.equal(id, lastId + 1, 'rows arrive in order, none twice or missed');
        lastId = id;
        inserted++;
      }
      // A slow consumer: one message per turn of the event loop, while the socket could deliver thousands.
      await nextTurn();
    }
    // Past the capacity by at most what one socket read held when the queue filled; the whole backlog is 50,002.
    assert.ok(largest >= CAPACITY, `the queue filled (largest backlog ${largest})`);
    assert.ok(largest < 5_000, `the queue held ${largest} messages at most, not the backlog`);
  } finally {
    await session.stop();
  }
});

async function slotFree(): Promise<void> {
  await waitFor('the slot to be free', async () => {
    const { rows } = await db.sql(`SELECT active FROM pg_replication_slots WHERE slot_name = 'pause_slot'`);
    return (rows[0] as { active: boolean } | undefined)?.active === false;
  });
}

// A stop that hangs fails the test by its timeout rather than by the suite's 15 minutes.
test('a session stopped while its socket is paused by a full queue ends', { timeout: 60_000 }, async () => {
  // The slot sends the whole transaction again (nothing was confirmed), once the last session let go of it.
  await slotFree();
  const session = newSession();
  session.start();
  await waitFor('the queue to fill and pause the socket', () => session.backlog >= CAPACITY);
  await session.stop();
  // Stopped for real: the slot is free for the next capture.
  await slotFree();
});
