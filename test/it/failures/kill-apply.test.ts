/**
 * Failure scenario: the apply process (`cdc run --role apply`) is killed with SIGKILL mid-stream, several
 * times, while a randomized workload writes; it is started again after each kill. Capture runs in this process.
 * Afterwards the replica (PostgreSQL, and MariaDB) equals the source row for row and the replica's audit trail
 * equals the source's: no source change was applied twice although the killed worker's Kafka offsets always
 * lag its replica commits.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createScenarioOn, type ReplicaKind } from '../../support/scenario.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload, seededRandom } from '../../support/workload.ts';

const KILLS = 4;

async function killApplyMidStream(t: TestContext, prefix: string, replica: ReplicaKind): Promise<void> {
  const scenario = await createScenarioOn(replica, prefix);
  const startApply = (): CliProcess => startCli(['run', '--config', scenario.configPath, '--role', 'apply']);
  let capture: RunningPipeline | null = null;
  let apply: CliProcess | null = null;
  try {
    const seed = Date.now() % 100_000;
    t.diagnostic(`seed ${seed}`);
    const random = seededRandom(seed);
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    capture = await startPipeline(scenario.config, logger, { roles: ['capture'], api: false });
    apply = startApply();
    await whileAlive(apply, 'apply during the snapshot', scenario.armAudit());

    const stopWrites = new AbortController();
    const writes = runWorkload(scenario.source, {
      transactions: 1_000_000,
      seed,
      // A MariaDB replica applies a truncate as a DELETE, whose row triggers the source's trail does not have.
      truncates: replica === 'postgres',
      pauseMs: 40,
      signal: stopWrites.signal,
    });
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        // A random moment: after the restarted worker has applied some more changes.
        const from = await scenario.target.changes();
        const ahead = 1 + Math.floor(random() * 300);
        const running: CliProcess = apply;
        await whileAlive(
          running,
          `apply before kill ${kill}`,
          waitFor(
            `apply to commit ${ahead} more row changes before kill ${kill}`,
            async () => (await scenario.target.changes()) >= from + ahead,
            { timeoutMs: 180_000, intervalMs: 50 },
          ),
        );
        const exit = await running.kill('SIGKILL');
        assert.equal(exit.signal, 'SIGKILL', `apply was killed (kill ${kill})`);
        t.diagnostic(`kill ${kill}: apply killed after ${from + ahead}+ replica row changes`);
        // The pause only varies the moment of the restart; nothing depends on its length.
        await delay(Math.floor(random() * 1500));
        apply = startApply();
      }
    } finally {
      stopWrites.abort();
    }
    const committed = await writes;
    t.diagnostic(`${committed} source transactions written`);
    assert.ok(committed > 0, 'the workload wrote while apply was being killed');

    const summary = await whileAlive(
      apply,
      'apply while the replica catches up',
      scenario.assertConverged(`(seed ${seed})`),
    );
    t.diagnostic(
      `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
    );
  } finally {
    // A clean stop leaves the consumer group at once, so it can be deleted.
    await apply?.kill('SIGTERM');
    await capture?.stop();
    await scenario.cleanup();
  }
}

test('SIGKILL of the apply process mid-stream, several times: nothing lost, nothing twice', (t) =>
  killApplyMidStream(t, 'killapp', 'postgres'));

test('SIGKILL of the apply process of a MariaDB replica mid-stream, several times: nothing lost, nothing twice', (t) =>
  killApplyMidStream(t, 'killmyapp', 'mariadb'));
