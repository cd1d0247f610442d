import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import { comparePosition } from '../../../schemas/positions/position.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';

/** Where a consumer that durably published exactly `batches` resumes. */
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

function describeEvent(event: ChangeEvent): string {
  return `${event.op}:${String(event.after?.id ?? event.before?.id)}`;
}

function assertStrictlyIncreasing(events: readonly ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.equal(
      comparePosition(events[i - 1]!.source.position, events[i]!.source.position),
      -1,
      `position order at event ${i}`,
    );
  }
}

void describe('resume from the last published position', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_resume');
    await db.sql.query('CREATE TABLE r (id INT PRIMARY KEY, v INT)');
  });
  after(async () => {
    await db.drop();
  });

  void test('a first start records where it began: what was written before its first event is not lost to a restart', async () => {
    const config = connectorConfig(db.name);
    const first = new RunningConnector(config);
    await first.waitForState('streaming');
    await first.stop();
    assert.deepEqual(first.events, [], 'nothing was written yet');
    await db.sql.query('INSERT INTO r VALUES (100, 0), (101, 0)');
    const restarted = new RunningConnector(config, publishedUpTo(first.batches));
    try {
      const events = await restarted.waitForEvents(
        'the rows written while stopped',
        (all) => all.length >= 2,
      );
      assert.deepEqual(events.map(describeEvent), ['c:100', 'c:101']);
    } finally {
      await restarted.stop();
    }
  });

  void test('restarting inside a large transaction or after a whole one yields nothing twice and loses nothing', async () => {
    const config = connectorConfig(db.name, { maxTransactionEvents: 5 });
    const first = new RunningConnector(config);
    await first.waitForState('streaming');
    await db.sql.query('INSERT INTO r VALUES (1, 0), (2, 0), (3, 0)');
    const big = Array.from({ length: 12 }, (_, i) => `INSERT INTO r VALUES (${i + 4}, 0);`).join(' ');
    await db.sql.query(`START TRANSACTION; ${big} COMMIT`);
    await db.sql.query('UPDATE r SET v = 1 WHERE id = 1');
    await first.waitForEvents('16 events', (events) => events.length >= 16);
    await first.stop();

    // First the recorded start, then the large transaction in pieces of 5, 5 and a last one of 2 with the total.
    const bigBatches = first.batches.filter((b) =>
      b.events.some((e) => e.after?.id === 4 || e.after?.id === 15),
    );
    assert.deepEqual(
      first.batches.map((b) => [b.events.length, b.commit !== null]),
      [
        [0, true],
        [3, true],
        [5, false],
        [5, false],
        [2, true],
        [1, true],
      ],
    );
    assert.ok(bigBatches.length >= 2);
    const bigEvents = first.events.filter((e) => e.source.txId === first.events[3]!.source.txId);
    assert.deepEqual(
      bigEvents.map((e) => e.transaction?.total ?? null),
      [...Array<null>(11).fill(null), 12],
    );

    await db.sql.query('DELETE FROM r WHERE id = 2');
    await db.sql.query('INSERT INTO r VALUES (16, 0)');
    const expected = [
      'c:1',
      'c:2',
      'c:3',
      ...Array.from({ length: 12 }, (_, i) => `c:${i + 4}`),
      'u:1',
      'd:2',
      'c:16',
    ];

    for (const cut of [3, 5]) {
      const published = first.batches.slice(0, cut).flatMap((b) => b.events);
      const resumed = new RunningConnector(config, publishedUpTo(first.batches.slice(0, cut)));
      try {
        const rest = await resumed.waitForEvents(
          `the rest after ${cut} batches`,
          (events) => events.length >= expected.length - published.length,
        );
        const all = [...published, ...rest];
        assert.deepEqual(all.map(describeEvent), expected, `resumed after ${cut} published batches`);
        assertStrictlyIncreasing(all);
      } finally {
        await resumed.stop();
      }
    }
  });
});
