/**
 * `subscriberTopics.format: debezium-avro` on the live stack: per-table topics in the Confluent wire format with
 * the schemas in the stack's registry under Debezium's subjects (`<topic>-key`, `<topic>-value`), read by a
 * consumer we did not write (Python confluent-kafka's AvroDeserializer), whose folded topic must equal the
 * source table, decimals decoded by their logical type included.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '../../../common/logger.ts';
import kafkajs from '../../../services/kafka/kafkajs.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { createDatabase } from '../../support/pg.ts';
import { readRaw } from '../../support/raw-topic.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { REGISTRY, registry } from '../registry/registry-harness.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('Debezium Avro per-table topics: registry subjects, wire format, and a Python AvroDeserializer folds the source table', async () => {
  const source = await createDatabase('dbz_avro');
  cleanups.push(() => source.drop());
  await source.query(`CREATE TABLE items (id bigint PRIMARY KEY, n smallint NOT NULL, amount numeric(12,2),
    note text, day date, at timestamp, flag boolean)`);
  await source.query(`INSERT INTO items SELECT g, g, g * 1.25, 'row ' || g, DATE '2024-01-01' + g,
    TIMESTAMP '2024-01-01 00:00:00' + g * interval '1.5 second', g % 2 = 0 FROM generate_series(1, 20) g`);
  const name = uniqueName('dbz-avro').replaceAll('_', '-');
  const prefix = `${name}.src`;
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, schemaRegistry: { url: REGISTRY } },
      sources: [
        {
          name: 'src',
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          heartbeatIntervalMs: 500,
          subscriberTopics: { format: 'debezium-avro', partitions: 2, transactionTopic: true },
        },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  const pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  const tableTopic = `${prefix}.public.items`;
  cleanups.push(
    () => pipeline.stop(),
    () => deleteKafkaState([tableTopic, `${prefix}.transaction`], []),
  );
  await waitFor('the snapshot to finish', () => pipeline.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  await source.query(
    `INSERT INTO items (id, n, amount, note) VALUES (21, 21, -0.01, NULL), (22, 22, 0, 'x')`,
  );
  await source.query(`UPDATE items SET n = n + 100, amount = 99999.99, note = 'updated' WHERE id <= 5`);
  await source.query(`DELETE FROM items WHERE id BETWEEN 6 AND 8`);
  await source.query(`ALTER TABLE items ADD COLUMN extra text`);
  await source.query(`INSERT INTO items (id, n, extra) VALUES (23, 23, 'new column')`);

  // 20 snapshot reads, 2 inserts, 5 updates, 3 deletes and 3 tombstones, 1 insert of the new shape.
  const expectedRecords = 20 + 2 + 5 + 3 + 3 + 1;
  // The service creates the topic with its first records (the broker does not auto-create topics).
  const admin = new kafkajs.Kafka({
    brokers: stack.kafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await waitFor('the table topic to exist', async () => (await admin.listTopics()).includes(tableTopic), {
    timeoutMs: 120_000,
  }).finally(() => admin.disconnect());
  const raw = await readRaw(tableTopic, (messages) => messages.length >= expectedRecords, 120_000);
  assert.equal(raw.length, expectedRecords, 'nothing twice');
  for (const record of raw) {
    assert.equal(record.key?.[0], 0, 'the key is in the Confluent wire format');
    if (record.value !== null) assert.equal(record.value[0], 0, 'the value is in the Confluent wire format');
  }
  for (const subject of [`${tableTopic}-key`, `${tableTopic}-value`, `${prefix}.transaction-value`]) {
    const versions = await registry('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    assert.equal(versions.status, 200, `subject ${subject}: ${JSON.stringify(versions.body)}`);
  }
  const valueVersions = await registry(
    'GET',
    `/subjects/${encodeURIComponent(`${tableTopic}-value`)}/versions`,
  );
  assert.equal((valueVersions.body as number[]).length, 2, 'one value version per table shape');

  const python = join(process.env.CDC_STACK_CACHE ?? 'stack/.cache', 'python', 'bin', 'python');
  const { stdout } = await promisify(execFile)(python, [
    'test/support/registry-consumer.py',
    stack.kafkaBrokers.join(','),
    tableTopic,
    REGISTRY,
    String(expectedRecords),
  ]);
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { op: string; row: Record<string, unknown> });
  assert.equal(lines.length, expectedRecords, 'the Python consumer read every record');
  const folded = new Map<number, string>();
  for (const { op, row } of lines) {
    if (op === 'd') folded.delete(Number(row.id));
    else if (op !== 'tombstone')
      folded.set(Number(row.id), [row.n, row.amount, row.note, row.flag, row.extra ?? null].join('|'));
  }
  const expected = await source.query<Record<string, string | null>>(
    `SELECT id, n, amount::text AS amount, note, flag::text AS flag, extra FROM items ORDER BY id`,
  );
  assert.deepStrictEqual(
    [...folded.entries()].sort(([a], [b]) => a - b),
    expected.rows.map((row) => [
      Number(row.id),
      [row.n, row.amount, row.note, row.flag, row.extra].join('|'),
    ]),
    'the rows the Python consumer folded are the source rows',
  );
});
