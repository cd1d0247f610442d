/**
 * Failure scenario, MariaDB source: the capture process (`cdc run --role capture`, the binlog connector and its
 * publisher) is killed with SIGKILL mid-stream, several times, while a randomized workload writes; it is started
 * again after each kill. Apply into PostgreSQL runs in this process. Afterwards verify reports every table
 * equal, the changelog holds every position once and in order, and the replica's audit trail equals the
 * source's (nothing lost, nothing applied twice).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createMariadbScenario, type MariadbScenario } from '../../support/mariadb-scenario.ts';
import { runMariadbWorkload } from '../../support/mariadb-workload.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const KILLS = 4;

let scenario: MariadbScenario;
let apply: RunningPipeline | null = null;
let capture: CliProcess | null = null;

before(async () => {
  scenario = await createMariadbScenario('killbin');
});

after(async () => {
  await capture?.kill('SIGKILL');
  await apply?.stop();
  await scenario.cleanup();
});

function startCapture(): CliProcess {
  return startCli(['run', '--config', scenario.pipeline.configPath, '--role', 'capture']);
}

test('SIGKILL of the binlog capture process mid-stream, several times: nothing lost, nothing twice', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const random = seededRandom(seed);
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  apply = await startPipeline(scenario.pipeline.config, logger, { roles: ['apply'], api: false });
  capture = startCapture();
  await whileAlive(capture, 'capture during the snapshot', scenario.armAudit());

  const changelog = scenario.pipeline.topics.changelog;
  const stopWrites = new AbortController();
  const writes = runMariadbWorkload(scenario.source, {
    transactions: 1_000_000,
    seed,
    truncates: true,
    pauseMs: 10,
    signal: stopWrites.signal,
    afterTruncate: (table) => scenario.recordTruncate(table),
  });
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      // A random moment: after the restarted process has published some more of the stream.
      const from = await topicEnd(changelog);
      const ahead = 1n + BigInt(Math.floor(random() * 400));
      const running: CliProcess = capture;
      await whileAlive(
        running,
        `capture before kill ${kill}`,
        waitFor(
          `capture to publish ${ahead} more messages before kill ${kill}`,
          async () => (await topicEnd(changelog)) >= from + ahead,
          { timeoutMs: 180_000, intervalMs: 50 },
        ),
      );
      const exit = await running.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', `capture was killed (kill ${kill})`);
      t.diagnostic(`kill ${kill}: capture killed at changelog offset >= ${from + ahead}`);
      // The pause only varies the moment of the restart; nothing depends on its length.
      await delay(Math.floor(random() * 1500));
      capture = startCapture();
    }
    // The last instance must carry on past the point where the previous one died.
    const from = await topicEnd(changelog);
    const last: CliProcess = capture;
    await whileAlive(
      last,
      'capture after the last restart',
      waitFor(
        'capture to publish again after the last restart',
        async () => (await topicEnd(changelog)) > from,
        {
          timeoutMs: 180_000,
        },
      ),
    );
  } finally {
    stopWrites.abort();
  }
  const committed = await writes;
  t.diagnostic(`${committed} source transactions written`);
  assert.ok(committed > 0, 'the workload wrote while capture was being killed');

  const summary = await whileAlive(
    capture,
    'capture while the replica catches up',
    scenario.assertConverged(`(seed ${seed})`),
  );
  t.diagnostic(
    `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
  );
  assert.equal(apply.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');
});
