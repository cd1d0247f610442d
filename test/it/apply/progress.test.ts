/**
 * The apply worker makes progress however slow the target: it hands the rest of a batch back at a source
 * transaction boundary when the feed asks it to yield (and only after applying something), and a target
 * transaction slower than `maxMillis` makes the next ones smaller. Real PostgreSQL; the target is made slow
 * by a trigger that sleeps on every row.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { ApplyWorker } from '../../../services/apply/apply-worker.ts';
import type {
  BatchControl,
  BatchHandler,
  ConsumedEvent,
  EventFeed,
} from '../../../services/apply/event-feed.ts';
import { PostgresSink, originName } from '../../../services/apply/postgres/postgres-sink.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, consumed, pgTable, transaction } from '../../unit/apply/events.ts';
import { MemoryDeadLetters } from '../../unit/apply/memory-feed.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

let db: TargetDatabase;
const streams: string[] = [];

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop(streams.map(originName));
});

/**
 * Delivers batches as Kafka does after a handler kept a tail back: the records from `redeliverFrom` on come
 * again at the head of the next delivery. Records every delivery's first event.
 */
class ReplayingFeed implements EventFeed {
  readonly deliveries: ConsumedEvent[][] = [];
  readonly #batches: ConsumedEvent[][];
  readonly #control: BatchControl;

  constructor(batches: readonly (readonly ChangeEvent[])[], control: BatchControl) {
    this.#batches = batches.map((batch) => consumed(batch));
    this.#control = control;
  }

  async run(handler: BatchHandler, signal: AbortSignal): Promise<void> {
    let held: ConsumedEvent[] = [];
    for (let next = 0; next < this.#batches.length || held.length > 0;) {
      if (signal.aborted) return;
      const batch = held.length > 0 ? held : this.#batches[next++]!;
      this.deliveries.push(batch);
      const result = await handler(batch, this.#control);
      held = result === undefined ? [] : batch.slice(result.redeliverFrom);
    }
  }
}

const table = (schema: string) =>
  pgTable(
    schema,
    'items',
    [column('id', 'bigint', { kind: 'int64' }, false), column('note', 'text')],
    ['id'],
  );

/** `count` source transactions of `size` inserts each, ids from `firstId`, commit LSNs from `firstLsn`. */
function inserts(
  schema: string,
  firstLsn: bigint,
  firstId: number,
  count: number,
  size: number,
): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  for (let t = 0; t < count; t++) {
    const changes = Array.from({ length: size }, (_, i) => ({
      op: 'c' as const,
      table: table(schema),
      after: { id: BigInt(firstId + t * size + i), note: `row ${firstId + t * size + i}` },
    }));
    events.push(...transaction(firstLsn + BigInt(t) * 100n, changes));
  }
  return events;
}

async function run(
  stream: string,
  feed: EventFeed,
  batch: { maxEvents: number; maxMillis?: number },
): Promise<ApplyWorker> {
  streams.push(stream);
  const sink = new PostgresSink({ url: db.url });
  const worker = new ApplyWorker({
    stream,
    feed,
    sink,
    deadLetters: new MemoryDeadLetters(),
    onError: 'stop',
    batch,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  try {
    await worker.run(new AbortController().signal);
  } finally {
    await sink.close();
  }
  return worker;
}

test('asked to yield, the worker applies one target transaction, hands the rest back whole, and so gets through', async () => {
  const schema = uniqueName('yield');
  const events = inserts(schema, 1_000n, 1, 50, 3);
  const feed = new ReplayingFeed([events], { shouldYield: () => true });
  const worker = await run(uniqueName('s'), feed, { maxEvents: 30 });

  assert.ok(feed.deliveries.length >= 5, `the batch was handed back in parts (${feed.deliveries.length})`);
  for (const delivery of feed.deliveries) {
    assert.equal(
      delivery[0]?.event.transaction?.index,
      0,
      'each part starts with a whole source transaction',
    );
  }
  const status = worker.status();
  assert.equal(status.eventsApplied, 150, 'every event applied');
  assert.equal(status.eventsSkipped, 0, 'nothing was delivered again after it was applied');
  const rows = await db.query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM "${schema}".items`);
  assert.deepEqual(rows[0], { n: '150', ids: '150' });
});

test('a target transaction slower than maxMillis makes the next ones smaller', async () => {
  const schema = uniqueName('slow');
  const stream = uniqueName('s');
  // The table exists once a first event is applied; then every row written to it costs 10 ms.
  await run(stream, new ReplayingFeed([inserts(schema, 1_000n, 1, 1, 1)], { shouldYield: () => false }), {
    maxEvents: 5_000,
  });
  await db.query(`
    CREATE TABLE "${schema}".commits (id bigint, xid xid8 DEFAULT pg_current_xact_id());
    CREATE FUNCTION "${schema}".slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(0.01);
      INSERT INTO "${schema}".commits (id) VALUES (NEW.id);
      RETURN NEW;
    END $$;
    CREATE TRIGGER slow_row BEFORE INSERT ON "${schema}".items FOR EACH ROW EXECUTE FUNCTION "${schema}".slow_row();
    ALTER TABLE "${schema}".items ENABLE ALWAYS TRIGGER slow_row;
  `);
  // First batch: 100 one-row transactions in one ~1 s target transaction; the second batch is then cut.
  const first = inserts(schema, 2_000n, 100, 100, 1);
  const second = inserts(schema, 100_000n, 1_000, 100, 1);
  await run(stream, new ReplayingFeed([first, second], { shouldYield: () => false }), {
    maxEvents: 5_000,
    maxMillis: 200,
  });

  const sizes = await db.query(
    `SELECT count(*) AS n FROM "${schema}".commits WHERE id >= 1000 GROUP BY xid ORDER BY min(id)`,
  );
  const largest = Math.max(...sizes.map((row) => Number(row.n)));
  assert.ok(sizes.length >= 4, `the second batch took several target transactions (${sizes.length})`);
  // 200 ms at ~10 ms a row is ~20 rows; a size may double once between measurements.
  assert.ok(largest <= 50, `no target transaction of the second batch held more than 50 rows (${largest})`);
  const rows = await db.query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM "${schema}".items`);
  assert.deepEqual(rows[0], { n: '201', ids: '201' });
});
