/**
 * PostgreSQL → Kafka → PostgreSQL replica on the real stack: an initial snapshot taken while writes go on,
 * then a randomized streaming workload; afterwards every row of the replica equals the source's.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { WORKLOAD_SCHEMA, runWorkload } from '../../support/workload.ts';

let source: TestDatabase;
let replica: TestDatabase;
let pipeline: RunningPipeline | null = null;

async function assertReplicaEqual(when: string): Promise<void> {
  for (const [table, order] of [
    ['accounts', 'id'],
    ['events', 'seq'],
  ] as const) {
    const expected = await tableContent(source, table, order);
    await waitFor(
      `replica ${table} to equal the source ${when}`,
      async () => JSON.stringify(await tableContent(replica, table, order)) === JSON.stringify(expected),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }
}
const name = uniqueName('e2e').replaceAll('_', '-');

before(async () => {
  source = await createDatabase('e2e_src');
  replica = await createDatabase('e2e_dst');
  await source.query(WORKLOAD_SCHEMA);
  // Rows that exist before the pipeline starts: they reach the replica through the snapshot.
  await source.query(
    `INSERT INTO accounts (id, owner, balance, big_note) SELECT g, 'pre-' || g, g * 1.5, CASE WHEN g % 50 = 0 THEN repeat('x', 10000) END FROM generate_series(1, 3000) g`,
  );
});

after(async () => {
  await pipeline?.stop();
  await source.drop();
  await replica.drop();
});

test('the replica equals the source after a snapshot under writes and a randomized workload', async () => {
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
          snapshotChunkRows: 500,
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [{ name: 'dst', source: 'src', kind: 'postgres', url: replica.url }],
      api: { port: 0 },
    }),
    'json',
  );
  pipeline = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }));
  const running = pipeline;
  const seed = Date.now() % 100_000;

  // Phase 1: writes while the initial snapshot copies the 3,000 existing rows.
  const duringSnapshot = await runWorkload(source, { transactions: 60, seed, truncates: false });
  await waitFor('the initial snapshot to finish', () => running.connectors()[0]?.snapshot?.done === true, {
    timeoutMs: 120_000,
  });
  await assertReplicaEqual(`after the snapshot (seed ${seed})`);
  const deadLettersAfterSnapshot = running.workers()[0]?.deadLetters ?? 0;

  // Phase 2: streaming only, with truncates, key changes, large transactions and TOAST.
  const streamed = await runWorkload(source, { transactions: 300, seed: seed + 1, truncates: true });
  assert.equal(duringSnapshot + streamed, 360);
  await assertReplicaEqual(`after streaming (seed ${seed})`);
  assert.equal(
    running.workers()[0]?.deadLetters,
    deadLettersAfterSnapshot,
    'no streamed event was dead-lettered',
  );
});
