/**
 * Failure scenario: the MariaDB source server restarts mid-stream (`stack/restart-service.sh mariadb`, once:
 * other tests share the server). The workload keeps writing before and after, waiting out the restart; the
 * pipeline (MariaDB → Kafka → PostgreSQL, in this process) recovers by itself: the binlog connector reconnects
 * and resumes from its published GTID position. Afterwards verify reports every table equal and the changelog
 * holds every position once, in order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { createMariadbScenario, type MariadbScenario } from '../../support/mariadb-scenario.ts';
import { runMariadbWorkload } from '../../support/mariadb-workload.ts';
import { restartService } from '../../support/stack-control.ts';
import { waitFor } from '../../support/wait.ts';

let scenario: MariadbScenario;
let pipeline: RunningPipeline | null = null;

before(async () => {
  // Without the audit: a transaction cut off by the restart may have committed or not, which only the final
  // state can tell; verify and the changelog positions are the checks here.
  scenario = await createMariadbScenario('mrestart', { audit: false });
});

after(async () => {
  await pipeline?.stop();
  await scenario.cleanup();
});

test('a MariaDB restart mid-stream: the pipeline recovers by itself and the replica ends equal', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  pipeline = await startPipeline(scenario.pipeline.config, logger, { api: false });
  const running = pipeline;
  await scenario.armAudit();

  const changelog = scenario.pipeline.topics.changelog;
  const stopWrites = new AbortController();
  const writes = runMariadbWorkload(scenario.source, {
    transactions: 1_000_000,
    seed,
    truncates: true,
    pauseMs: 20,
    signal: stopWrites.signal,
    survivesRestart: true,
  });
  try {
    const before = await topicEnd(changelog);
    await waitFor('the stream to be under way', async () => (await topicEnd(changelog)) > before + 200n, {
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    t.diagnostic((await restartService('mariadb')).trim().split('\n').slice(-2).join(' | '));
    const afterRestart = await topicEnd(changelog);
    await waitFor(
      'capture to publish again after the restart',
      async () => (await topicEnd(changelog)) > afterRestart + 200n,
      { timeoutMs: 180_000, intervalMs: 250 },
    );
  } finally {
    stopWrites.abort();
  }
  const committed = await writes;
  t.diagnostic(`${committed} source transactions written`);
  assert.ok(committed > 0, 'the workload wrote around the restart');

  const summary = await scenario.assertConverged(`after a MariaDB restart (seed ${seed})`);
  t.diagnostic(`${summary.changelogEvents} changelog events`);
  const connector = running.connectors()[0];
  assert.equal(connector?.state, 'streaming', `capture streams again (last error: ${connector?.lastError})`);
  assert.equal(running.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');
});
