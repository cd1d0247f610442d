/**
 * Failure scenario on PostgreSQL 15 (no failover slots): the slot is gone when capture starts again although it
 * had published from it. A slot dropped while capture is stopped stands in faithfully for a promoted standby
 * that has no copy of it: either way the server capture connects to lacks the slot and the changes in between
 * are not in the WAL it could decode. Capture must stop and say a re-snapshot is needed, never create a new
 * slot that silently skips those changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { adminQuery, createDatabase, type TestDatabase } from '../../support/pg.ts';
import { dropPipelineState } from '../../support/scenario.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

test('the slot is gone when capture starts again (as on a promoted standby without it): capture stops and says a re-snapshot is needed', async () => {
  const name = uniqueName('slotlost').replaceAll('_', '-');
  const sourceName = uniqueName('src');
  const slot = uniqueName('slot');
  let source: TestDatabase | null = null;
  let pipeline: RunningPipeline | null = null;
  try {
    source = await createDatabase('slotlost_src');
    await source.query('CREATE TABLE items (id bigint PRIMARY KEY, note text)');
    await source.query(`INSERT INTO items SELECT g, 'seed' FROM generate_series(1, 10) g`);
    const config = parseConfig(
      JSON.stringify({
        name,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
        sources: [{ name: sourceName, kind: 'postgres', url: source.url, slot, heartbeatIntervalMs: 500 }],
      }),
      'json',
      { origin: 'pg-slot-lost.test.ts' },
    );
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    pipeline = await startPipeline(config, logger, { api: false });
    await source.query(`INSERT INTO items VALUES (11, 'streamed')`);
    await waitFor(
      'capture to confirm the streamed row',
      () => {
        const status = pipeline!.connectors()[0];
        return status?.state === 'streaming' && status.confirmed !== null && status.lagBytes === 0;
      },
      { timeoutMs: 60_000 },
    );
    await pipeline.stop();
    pipeline = null;

    await adminQuery('SELECT pg_drop_replication_slot($1)', [slot]);
    await source.query(`INSERT INTO items VALUES (12, 'written while the slot was gone')`);

    pipeline = await startPipeline(config, logger, { api: false });
    const failed = await waitFor(
      'capture to stop on the lost slot',
      () => {
        const status = pipeline!.connectors()[0];
        return status?.state === 'failed' ? status : null;
      },
      { timeoutMs: 60_000 },
    );
    assert.match(failed.lastError ?? '', new RegExp(`replication slot "${slot}" does not exist`));
    assert.match(failed.lastError ?? '', /a re-snapshot is needed/);
    const slots = await adminQuery('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    assert.equal(slots.rowCount, 0, 'no new slot was created in its place');
  } finally {
    await pipeline?.stop();
    await source?.drop();
    await dropPipelineState(name, sourceName, 'none');
  }
});
