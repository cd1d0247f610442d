/**
 * A fetch is handed to the apply worker in slices, so only a slice of it is decoded at a time; a source
 * transaction larger than a slice (but not than a fetch) still reaches the replica in one target transaction,
 * and every row arrives once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyWorker } from '../../../services/apply/apply-worker.ts';
import type { BatchControl, EventFeed } from '../../../services/apply/event-feed.ts';
import { PostgresSink, originName } from '../../../services/apply/postgres/postgres-sink.ts';
import type { Sink } from '../../../services/apply/sink.ts';
import { ChangeConsumer } from '../../../services/kafka/consumer.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { createTargetDatabase, type TargetDatabase } from '../apply/pg-target.ts';
import { GeneratedSource } from './generator.ts';

const prefix = uniqueName('cdcslice');
const connector = uniqueName('gen');
// Two source transactions of about 2 MiB of records each: each more than a slice (1 MiB), both within a fetch.
const perTx = 20_000;
const total = 2 * perTx;
const stream = uniqueName('slices');
let topic = '';
let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
  topic = publisher.topics.changelog;
  await publisher.run(new GeneratedSource(connector, total, perTx), new AbortController().signal);
});

after(async () => {
  await db.drop([originName(stream)]);
});

test('a source transaction larger than a slice of a fetch reaches the replica in one target transaction', async () => {
  const delivered: { events: number; more: boolean }[] = [];
  const consumer = new ChangeConsumer({
    brokers: stack.kafkaBrokers,
    groupId: uniqueName('apply'),
    topics: [topic],
    prefix,
  });
  const feed: EventFeed = {
    run: (handler, signal) =>
      consumer.run((batch, control?: BatchControl) => {
        delivered.push({ events: batch.length, more: control?.more === true });
        return handler(batch, control);
      }, signal),
  };
  // Each apply call of the sink is one target transaction: what it held of each source transaction.
  const targetTransactions: Map<string, number>[] = [];
  const postgres = new PostgresSink({ url: db.url });
  const sink: Sink = {
    prepare: () => postgres.prepare(),
    appliedPosition: (name, options) => postgres.appliedPosition(name, options),
    apply(name, transactions, options) {
      const held = new Map<string, number>();
      for (const transaction of transactions)
        for (const event of transaction.events) {
          const id = event.source.txId ?? '';
          held.set(id, (held.get(id) ?? 0) + 1);
        }
      targetTransactions.push(held);
      return postgres.apply(name, transactions, options);
    },
    close: () => postgres.close(),
  };
  const worker = new ApplyWorker({
    stream,
    feed,
    sink,
    deadLetters: { publish: () => Promise.reject(new Error('nothing should be dead-lettered')) },
    onError: 'stop',
    batch: { maxEvents: total },
  });
  const stop = new AbortController();
  const running = worker.run(stop.signal);
  try {
    await waitFor('every event applied', () => worker.status().eventsApplied >= total, {
      timeoutMs: 120_000,
    });
  } finally {
    stop.abort();
    await running;
    await sink.close();
  }

  assert.ok(
    delivered.some((slice) => slice.more),
    `the fetch was handed over in slices: ${JSON.stringify(delivered)}`,
  );
  const split = targetTransactions.flatMap((held) =>
    [...held].filter(([, events]) => events !== perTx).map(([id, events]) => `${id}: ${events} events`),
  );
  assert.deepStrictEqual(split, [], 'no source transaction was split across target transactions');
  const rows = await db.query(`SELECT count(*)::text AS n, count(DISTINCT id)::text AS d FROM public.items`);
  assert.deepStrictEqual(rows, [{ n: String(total), d: String(total) }]);
});
