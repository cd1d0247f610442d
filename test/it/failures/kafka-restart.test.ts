/**
 * Failure scenario: the Kafka broker restarts mid-stream (stack/restart-service.sh kafka) while a randomized
 * workload writes. The pipeline, in this process, recovers by itself: capture and apply carry on after the
 * broker is back, the replica equals the source, nothing is applied twice and the changelog holds no duplicate.
 *
 * The broker is shared with other tests running at the same time, so it is restarted once, the test is kept
 * short, and it runs only with CDC_TEST_KAFKA_RESTART=1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { auditCount } from '../../support/audit.ts';
import { topicEnd } from '../../support/changelog.ts';
import { createScenario, type Scenario } from '../../support/scenario.ts';
import { restartService } from '../../support/stack-control.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload } from '../../support/workload.ts';

// Restarting the shared broker disturbs every other test running at that moment, so it runs only when asked.
const enabled = process.env.CDC_TEST_KAFKA_RESTART === '1';

let scenario: Scenario;
let pipeline: RunningPipeline | null = null;

before(async () => {
  if (enabled) scenario = await createScenario('kafkarestart');
});

after(async () => {
  await pipeline?.stop();
  if (enabled) await scenario.cleanup();
});

test(
  'a Kafka broker restart mid-stream: the pipeline recovers by itself, nothing lost, nothing twice',
  {
    skip: enabled ? false : 'restarts the shared Kafka broker: run with CDC_TEST_KAFKA_RESTART=1',
  },
  async (t) => {
    const seed = Date.now() % 100_000;
    t.diagnostic(`seed ${seed}`);
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    pipeline = await startPipeline(scenario.config, logger, { api: false });
    await scenario.armAudit();

    const stopWrites = new AbortController();
    const writes = runWorkload(scenario.source, {
      transactions: 1_000_000,
      seed,
      truncates: true,
      pauseMs: 20,
      signal: stopWrites.signal,
    });
    try {
      const changelog = scenario.topics.changelog;
      const published = await topicEnd(changelog);
      await waitFor(
        'the stream to flow before the restart',
        async () => (await topicEnd(changelog)) > published + 50n,
        {
          timeoutMs: 120_000,
        },
      );
      t.diagnostic(`restarting kafka:\n${await restartService('kafka')}`);
      // Both halves must move again on their own: capture publishes, apply commits.
      const afterRestart = await topicEnd(changelog);
      const applied = await auditCount(scenario.replica);
      await waitFor(
        'capture to publish again after the restart',
        async () => (await topicEnd(changelog)) > afterRestart,
        {
          timeoutMs: 180_000,
          intervalMs: 250,
        },
      );
      await waitFor(
        'apply to commit again after the restart',
        async () => (await auditCount(scenario.replica)) > applied,
        {
          timeoutMs: 180_000,
          intervalMs: 250,
        },
      );
    } finally {
      stopWrites.abort();
    }
    const committed = await writes;
    t.diagnostic(`${committed} source transactions written`);

    const summary = await scenario.assertConverged(`after a Kafka restart (seed ${seed})`);
    t.diagnostic(
      `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
    );
    const connector = pipeline.connectors()[0];
    const worker = pipeline.workers()[0];
    assert.notEqual(connector?.state, 'failed', `capture recovered: ${connector?.lastError ?? ''}`);
    assert.notEqual(worker?.state, 'failed', `apply recovered: ${worker?.lastError ?? ''}`);
  },
);
