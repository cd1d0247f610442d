/**
 * A replica's partitions move between apply workers (a rebalance, or a worker restarted by its supervisor while
 * another member took over) and come back. The worker that gets them back reads the applied position from the
 * replica again instead of trusting what its sink last wrote, so it goes on from where the other member
 * stopped; a member that never rejoined is still stopped as stale before it writes anything. Real PostgreSQL;
 * the feed is in memory so each step's owner is chosen exactly (Kafka's assignor would choose at random).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { ApplyWorker } from '../../../services/apply/apply-worker.ts';
import type { BatchHandler, EventFeed } from '../../../services/apply/event-feed.ts';
import { PostgresSink } from '../../../services/apply/postgres/postgres-sink.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, consumed, pgTable, transaction } from '../../unit/apply/events.ts';
import { MemoryDeadLetters } from '../../unit/apply/memory-feed.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop([]);
});

/** One delivery of `events`, as a member that joined its group `generation` times. */
class OneBatchFeed implements EventFeed {
  readonly #events: readonly ChangeEvent[];
  readonly #generation: number;

  constructor(events: readonly ChangeEvent[], generation: number) {
    this.#events = events;
    this.#generation = generation;
  }

  async run(handler: BatchHandler): Promise<void> {
    await handler(consumed([...this.#events]), { shouldYield: () => false, generation: this.#generation });
  }
}

const items = (schema: string) =>
  pgTable(
    schema,
    'items',
    [column('id', 'bigint', { kind: 'int64' }, false), column('note', 'text')],
    ['id'],
  );

/** One source transaction inserting row `id`, committed at `lsn`. */
function insert(schema: string, lsn: bigint, id: number): ChangeEvent[] {
  return transaction(lsn, [
    { op: 'c' as const, table: items(schema), after: { id: BigInt(id), note: `row ${id}` } },
  ]);
}

/** Runs one worker over one delivery; origins off, so two sinks may write one stream as two members would. */
async function deliver(sink: PostgresSink, stream: string, feed: EventFeed): Promise<ApplyWorker> {
  const worker = new ApplyWorker({
    stream,
    feed,
    sink,
    deadLetters: new MemoryDeadLetters(),
    onError: 'stop',
    backoff: { initialMs: 20, maxMs: 200 },
  });
  await worker.run(new AbortController().signal);
  return worker;
}

test('partitions that come back to a worker after another member applied the stream: it goes on from the replica position', async () => {
  const schema = uniqueName('moved');
  const stream = uniqueName('s');
  const first = new PostgresSink({ url: db.url, replicationOrigin: false });
  const second = new PostgresSink({ url: db.url, replicationOrigin: false });
  try {
    // The first member applies row 1, the second takes over and applies row 2, then the first gets the
    // partitions back (a new group generation) from the offset after row 2 and applies row 3.
    await deliver(first, stream, new OneBatchFeed(insert(schema, 100n, 1), 1));
    await deliver(second, stream, new OneBatchFeed(insert(schema, 200n, 2), 1));
    const back = await deliver(first, stream, new OneBatchFeed(insert(schema, 300n, 3), 2));

    assert.equal(back.status().lastError, null, 'the worker that got its partitions back was not stopped');
    const rows = await db.query(`SELECT id FROM "${schema}".items ORDER BY id`);
    assert.deepEqual(
      rows.map((row) => String(row.id)),
      ['1', '2', '3'],
      'every row applied once',
    );
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

test('a member that lost its partitions without rejoining is stopped before it writes', async () => {
  const schema = uniqueName('stale');
  const stream = uniqueName('s');
  const stale = new PostgresSink({ url: db.url, replicationOrigin: false });
  const owner = new PostgresSink({ url: db.url, replicationOrigin: false });
  try {
    const worker = new ApplyWorker({
      stream,
      feed: {
        // Same generation throughout: this member never learned that another one took its partitions.
        run: async (handler: BatchHandler) => {
          await handler(consumed(insert(schema, 100n, 1)), { shouldYield: () => false, generation: 1 });
          await deliver(owner, stream, new OneBatchFeed(insert(schema, 200n, 2), 1));
          await handler(consumed(insert(schema, 150n, 9)), { shouldYield: () => false, generation: 1 });
        },
      },
      sink: stale,
      deadLetters: new MemoryDeadLetters(),
      onError: 'dead-letter',
      backoff: { initialMs: 20, maxMs: 200 },
    });
    await assert.rejects(worker.run(new AbortController().signal), /APPLY_STALE_WORKER|another worker/);

    assert.equal(worker.status().state, 'failed');
    assert.match(worker.status().lastError ?? '', /another worker has applied the stream/);
    const rows = await db.query(`SELECT id FROM "${schema}".items ORDER BY id`);
    assert.deepEqual(
      rows.map((row) => String(row.id)),
      ['1', '2'],
      'the stale member wrote nothing',
    );
  } finally {
    await Promise.all([stale.close(), owner.close()]);
  }
});
