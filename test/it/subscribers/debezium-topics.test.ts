/**
 * Subscriber topics on the live stack: a PostgreSQL source with per-table Debezium JSON topics (3 partitions,
 * tombstones, transaction metadata), read back by a plain kafkajs consumer (read_committed) as any Debezium
 * subscriber would: the folded topic equals the source table, each key's changes are in order in the
 * partition Java's partitioner picks, every delete is followed by its tombstone, and each END counts exactly
 * the records its transaction wrote. A Python consumer (confluent-kafka, JSON only) folds the same topic into the
 * same rows.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Consumer, KafkaMessage } from 'kafkajs';
import kafkajs from '../../../services/kafka/kafkajs.ts';
import { javaPartition } from '../../../services/kafka/java-partitioner.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

interface Read {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string | null;
}

let source: TestDatabase;
let pipeline: RunningPipeline | null = null;
let consumer: Consumer | null = null;
const name = uniqueName('dbz').replaceAll('_', '-');
const prefix = `${name}.src`;

before(async () => {
  source = await createDatabase('dbz_src');
  await source.query(`CREATE TABLE items (
    id bigint PRIMARY KEY, n integer NOT NULL, amount numeric(12,2), note text, at timestamp,
    atz timestamptz, flag boolean, doc json, u uuid)`);
  await source.query(`INSERT INTO items SELECT g, g * 10, g * 1.25, 'row ' || g,
    '2024-01-01 00:00:00'::timestamp + g * interval '1 hour 1.000003 second',
    '2024-06-01 12:00:00+02'::timestamptz + g * interval '1 day 0.5 second',
    g % 2 = 0, json_build_object('g', g), md5(g::text)::uuid FROM generate_series(1, 20) g`);
});

after(async () => {
  await consumer?.disconnect();
  await pipeline?.stop();
  await source.drop();
});

function decimalText(base64: string, scale: number): string {
  const bytes = Buffer.from(base64, 'base64');
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (bytes.length > 0 && bytes[0]! >= 0x80) value -= 1n << BigInt(8 * bytes.length);
  const digits = (value < 0n ? -value : value).toString().padStart(scale + 1, '0');
  return `${value < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

test('a plain consumer folds the per-table topic into the source table, in per-key order, with tombstones and transaction counts', async () => {
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
      sources: [
        {
          name: 'src',
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          heartbeatIntervalMs: 500,
          subscriberTopics: { partitions: 3, transactionTopic: true },
        },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  const running = pipeline;
  await waitFor('the snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  await source.query(
    `INSERT INTO items (id, n, amount, note) SELECT g, g, -g * 0.01, NULL FROM generate_series(21, 25) g`,
  );
  await source.query(`UPDATE items SET n = n + 1, note = 'updated' WHERE id <= 10`);
  await source.query(`DELETE FROM items WHERE id BETWEEN 11 AND 15`);
  await source.query(
    `BEGIN; UPDATE items SET amount = 99999.99 WHERE id = 1; DELETE FROM items WHERE id = 21; COMMIT`,
  );
  await source.query(`UPDATE items SET id = 30 WHERE id = 20`);

  const tableTopic = `${prefix}.public.items`;
  const txTopic = `${prefix}.transaction`;
  const records: Read[] = [];
  const transactions: Read[] = [];
  const kafka = new kafkajs.Kafka({ brokers: stack.kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  // The service creates the topics with its first records (the broker does not auto-create them).
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor('both topics to exist', async () => {
      const topics = await admin.listTopics();
      return topics.includes(tableTopic) && topics.includes(txTopic);
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [tableTopic, txTopic] });
    assert.deepStrictEqual(
      metadata.topics.map((t) => [t.name, t.partitions.length]).sort(),
      [
        [tableTopic, 3],
        [txTopic, 1],
      ].sort(),
    );
  } finally {
    await admin.disconnect();
  }
  consumer = kafka.consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  await consumer.subscribe({ topics: [tableTopic, txTopic], fromBeginning: true });
  const text = (buffer: Buffer | null): string | null => (buffer === null ? null : buffer.toString('utf8'));
  await consumer.run({
    eachMessage: ({
      topic,
      partition,
      message,
    }: {
      topic: string;
      partition: number;
      message: KafkaMessage;
    }) => {
      const read = { partition, key: text(message.key), value: text(message.value) };
      (topic === txTopic ? transactions : records).push(read);
      return Promise.resolve();
    },
  });
  // 20 snapshot reads, 5 inserts, 10 updates, 5 deletes + 5 tombstones, 1 update, 1 delete + 1 tombstone;
  // a key change: delete + tombstone of the old key, create under the new.
  await waitFor('every record', () => records.length >= 51 && transactions.length >= 10, {
    timeoutMs: 120_000,
  });

  type Envelope = {
    op: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    source: { snapshot: string; table: string };
    transaction: { id: string; total_order: number; data_collection_order: number } | null;
  };
  const parsed = records.map((r) => ({
    ...r,
    id: (JSON.parse(r.key!) as { payload: { id: number } }).payload.id,
    envelope: r.value === null ? null : (JSON.parse(r.value) as { payload: Envelope }).payload,
  }));
  assert.equal(parsed.length, 51, 'nothing twice');

  // Each key in the partition Java's partitioner picks; its changes in order; a tombstone right after a delete.
  const byKey = new Map<number, typeof parsed>();
  for (const r of parsed) {
    assert.equal(r.partition, javaPartition(Buffer.from(r.key!, 'utf8'), 3), `partition of key ${r.id}`);
    byKey.set(r.id, [...(byKey.get(r.id) ?? []), r]);
  }
  const ops = (id: number): string[] => byKey.get(id)!.map((r) => r.envelope?.op ?? 'tombstone');
  assert.deepStrictEqual(ops(1), ['r', 'u', 'u']);
  assert.deepStrictEqual(ops(12), ['r', 'd', 'tombstone']);
  assert.deepStrictEqual(ops(21), ['c', 'd', 'tombstone']);
  assert.deepStrictEqual(ops(20), ['r', 'd', 'tombstone']);
  assert.deepStrictEqual(ops(30), ['c']);
  assert.equal(byKey.get(20)![0]!.envelope!.source.snapshot, 'true');

  // Folding the topic as a subscriber would gives the source table.
  const folded = new Map<number, Record<string, unknown>>();
  for (const r of parsed) {
    if (r.envelope === null || r.envelope.op === 'd') folded.delete(r.id);
    else folded.set(r.id, r.envelope.after!);
  }
  const expected = await source.query<
    Record<string, string | null>
  >(`SELECT id, n, amount::text AS amount, note,
      (extract(epoch FROM at) * 1000000)::bigint::text AS at_us,
      to_char(atz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS atz, flag::text AS flag, doc::text AS doc, u::text AS u
    FROM items ORDER BY id`);
  assert.deepStrictEqual(
    [...folded.keys()].sort((a, b) => a - b),
    expected.rows.map((row) => Number(row['id'])),
  );
  for (const row of expected.rows) {
    const after = folded.get(Number(row['id']))!;
    const atz = row['atz'] ?? null;
    const iso = atz === null ? null : `${atz.replace(/0+$/, '').replace(/\.$/, '')}Z`;
    assert.deepStrictEqual(
      {
        n: after['n'],
        amount: after['amount'] === null ? null : decimalText(after['amount'] as string, 2),
        note: after['note'],
        at: after['at'] === null ? null : String(after['at'] as number),
        atz: after['atz'],
        flag: after['flag'] === null ? null : String(after['flag'] as boolean),
        doc: after['doc'],
        u: after['u'],
      },
      {
        n: Number(row['n']),
        amount: row['amount'],
        note: row['note'],
        at: row['at_us'],
        atz: iso,
        flag: row['flag'],
        doc: row['doc'],
        u: row['u'],
      },
      `row ${row['id']}`,
    );
  }

  // BEGIN/END: one pair per source transaction, END counting exactly the records it wrote.
  const meta = transactions.map(
    (t) =>
      (JSON.parse(t.value!) as { payload: { status: string; id: string; event_count: number | null } })
        .payload,
  );
  assert.equal(meta.filter((m) => m.status === 'BEGIN').length, 5);
  assert.equal(meta.filter((m) => m.status === 'END').length, 5);
  for (const end of meta.filter((m) => m.status === 'END')) {
    const written = parsed.filter((r) => r.envelope?.transaction?.id === end.id);
    assert.equal(end.event_count, written.length, `END ${end.id}`);
    // total_order is the event's place in its source transaction (a key change's two records share it).
    for (const r of written) assert.ok(r.envelope!.transaction!.total_order >= 1);
  }
  const streamedWithoutTransaction = parsed.filter(
    (r) => r.envelope !== null && r.envelope.op !== 'r' && r.envelope.transaction === null,
  );
  assert.equal(streamedWithoutTransaction.length, 0);

  // A subscriber we did not write: Python's confluent-kafka with nothing but json.loads folds the same topic.
  const python = join(process.env.CDC_STACK_CACHE ?? 'stack/.cache', 'python', 'bin', 'python');
  const { stdout } = await promisify(execFile)(python, [
    'test/support/debezium-json-consumer.py',
    stack.kafkaBrokers.join(','),
    tableTopic,
    String(parsed.length),
  ]);
  const fromPython = JSON.parse(stdout) as { seen: number; table: Record<string, Record<string, unknown>> };
  assert.equal(fromPython.seen, parsed.length, 'the Python consumer read every record');
  assert.deepStrictEqual(
    Object.entries(fromPython.table)
      .map(([key, row]) => [Number((JSON.parse(key) as { id: number }).id), row['n'], row['note']])
      .sort(([a], [b]) => Number(a) - Number(b)),
    expected.rows.map((row) => [Number(row['id']), Number(row['n']), row['note']]),
    'the rows the Python consumer folded are the source rows',
  );
});
