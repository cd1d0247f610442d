/**
 * PostgreSQL → Kafka → PostgreSQL through a live Confluent-compatible registry (the stack's Apicurio, set to
 * BACKWARD): the replica equals the source, every changelog record is in the Confluent wire format with an id
 * the registry knows, and each DDL case a registry accepts under BACKWARD goes through (add a nullable column,
 * add one with a default, drop one, widen int → bigint) while one it refuses (text → integer) stops capture
 * with an error naming the subject, table and column; a registry down at start-up is retried, then stops
 * capture naming the subject. (`onIncompatible: new-version` is not tested here:
 * against Apicurio 2.4.2 a subject set to NONE still falls under the global BACKWARD rule, see README.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { stack } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  assertRegistryWireFormat,
  REGISTRY,
  registry,
  startRegistryPipeline,
  useBackwardCompatibility,
  waitEqual,
} from './registry-harness.ts';

const run = promisify(execFile);

before(useBackwardCompatibility);

test('the changelog goes through the registry: wire format, known ids, and every BACKWARD-compatible DDL case', async () => {
  const setup = await startRegistryPipeline('reg_pipe');
  const { source } = setup;
  await waitEqual(setup, 'after the snapshot');

  await source.query(`ALTER TABLE items ADD COLUMN note text`);
  await source.query(`INSERT INTO items (id, name, note) VALUES (101, 'nullable added', 'n')`);
  await waitEqual(setup, 'after adding a nullable column');

  await source.query(`ALTER TABLE items ADD COLUMN level int NOT NULL DEFAULT 7`);
  await source.query(`INSERT INTO items (id, name, level) VALUES (102, 'default added', 9)`);
  await waitEqual(setup, 'after adding a column with a default');

  await source.query(`ALTER TABLE items DROP COLUMN code`);
  await source.query(`UPDATE items SET name = 'after drop' WHERE id = 1`);
  await waitEqual(setup, 'after dropping a column');

  await source.query(`ALTER TABLE items ALTER COLUMN qty TYPE bigint`);
  await source.query(`INSERT INTO items (id, name, qty) VALUES (103, 'widened', 9007199254740993)`);
  await source.query(`DELETE FROM items WHERE id = 2`);
  await waitEqual(setup, 'after widening int to bigint');

  const records = await assertRegistryWireFormat(setup, 55);
  // One value subject for the table, with a version per shape: the record name stays stable across the DDL.
  const subject = `${setup.pipeline.topics.changelog}-cdc.${setup.source.name}.public.items.Envelope`;
  const versions = await registry('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
  assert.equal(versions.status, 200, `subject ${subject}: ${JSON.stringify(versions.body)}`);
  assert.ok(
    (versions.body as number[]).length >= 5,
    `subject ${subject} versions ${JSON.stringify(versions.body)}`,
  );
  assert.equal(setup.running.workers()[0]?.deadLetters ?? 0, 0);

  // A consumer we did not write: confluent-kafka's AvroDeserializer against the same registry.
  const python = join(process.env.CDC_STACK_CACHE ?? 'stack/.cache', 'python', 'bin', 'python');
  const { stdout } = await run(python, [
    'test/support/registry-consumer.py',
    stack.kafkaBrokers.join(','),
    setup.pipeline.topics.changelog,
    REGISTRY,
    String(records.length),
  ]);
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { op: string; row: Record<string, unknown> });
  assert.equal(lines.length, records.length, 'the Python consumer read every record');
  const live = new Map<number, string>();
  for (const { op, row } of lines) {
    if (op === 'd') live.delete(Number(row.id));
    else live.set(Number(row.id), String(row.name));
  }
  const current = await setup.source.rows(['id', 'name']);
  assert.deepEqual(
    [...live.entries()].sort(([a], [b]) => a - b),
    current.map((row) => [Number(row.split('|')[0]), row.slice(row.indexOf('|') + 1)]),
    'the rows the Python consumer decoded are the source rows',
  );
});

test('an incompatible change (text → integer) stops capture naming the subject, table and column', async () => {
  const setup = await startRegistryPipeline('reg_stop');
  await waitEqual(setup, 'after the snapshot');
  await setup.source.query(`ALTER TABLE items ALTER COLUMN code TYPE integer USING 0`);
  await setup.source.query(`INSERT INTO items (id, name, code) VALUES (201, 'incompatible', 5)`);
  let error = '';
  await waitFor(
    'capture to stop on the incompatible schema',
    () => {
      const capture = setup.running.connectors()[0];
      error = capture?.lastError ?? '';
      return error.includes('REGISTRY_INCOMPATIBLE') || /refuses the new schema/.test(error);
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  assert.match(error, /subject \S+-cdc\.\S+\.public\.items\.Envelope/);
  assert.match(error, /table public\.items/);
  assert.match(error, /column\(s\) code/);
});

test('a registry that is down at start-up: registration is retried, then capture stops naming the subject', async () => {
  // Nothing listens on port 9 of the loopback (discard service, never run here).
  const setup = await startRegistryPipeline('reg_down', {
    url: 'http://127.0.0.1:9/apis/ccompat/v7',
    retryTimeoutMs: 2_000,
  });
  let error = '';
  await waitFor(
    'capture to stop on the unreachable registry',
    () => {
      error = setup.running.connectors()[0]?.lastError ?? '';
      return /still failing after 2000 ms/.test(error);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.match(error, /subject \S+-cdc\.\S+\.public\.items\.(Envelope|Key)/);
  assert.match(error, /unreachable|ECONNREFUSED/);
});
