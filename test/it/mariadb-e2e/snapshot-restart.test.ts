/**
 * Failure scenario, MariaDB source: the capture process is killed with SIGKILL in the middle of its initial
 * snapshot, twice, while a workload writes to the tables being read (inserts, updates, deletes), and columns
 * are added meanwhile to the table the snapshot already read and to the one it is reading. Each restart reads
 * the rest from a newer snapshot while the stream still starts at the first one's position; the changes in
 * between must reach the PostgreSQL replica exactly once. The replica applies with onError 'stop', so one
 * replayed insert would halt it. Afterwards verify reports every table equal and the changelog holds every
 * position once, in order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createMariadbScenario, type MariadbScenario } from '../../support/mariadb-scenario.ts';
import { runMariadbWorkload } from '../../support/mariadb-workload.ts';
import { waitFor } from '../../support/wait.ts';

/** Enough rows that the snapshot takes many chunks (200 rows each), most of them in `events`. */
const SEED_EVENTS = 30_000;

let scenario: MariadbScenario;
let apply: RunningPipeline | null = null;
let capture: CliProcess | null = null;

before(async () => {
  scenario = await createMariadbScenario('snaprestart', {
    audit: false,
    seed: `INSERT INTO events (account_id, kind, payload, at, raw)
             SELECT seq % 300, 'bulk', JSON_OBJECT('n', seq), '2024-03-01 00:00:00.000001', UNHEX(HEX(seq))
             FROM seq_1_to_${SEED_EVENTS}`,
  });
});

after(async () => {
  await capture?.kill('SIGKILL');
  await apply?.stop();
  await scenario.cleanup();
});

function startCapture(): CliProcess {
  return startCli(['run', '--config', scenario.pipeline.configPath, '--role', 'capture']);
}

test('SIGKILL of the binlog capture during its snapshot, twice, under writes and DDL: nothing lost, nothing twice', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  apply = await startPipeline(scenario.pipeline.config, logger, { roles: ['apply'], api: false });
  const changelog = scenario.pipeline.topics.changelog;
  const stopWrites = new AbortController();
  const writes = runMariadbWorkload(scenario.source, {
    transactions: 1_000_000,
    seed,
    // No truncates: they would empty `events` before the snapshot got far (truncates in the overlap are
    // covered by test/it/mysql/snapshot.test.ts).
    truncates: false,
    pauseMs: 5,
    signal: stopWrites.signal,
  });
  try {
    capture = startCapture();
    // Streaming starts only once the snapshot is done, so until then the changelog grows by snapshot rows.
    for (const [kill, rows] of [2_000, 9_000].entries()) {
      const running: CliProcess = capture;
      await whileAlive(
        running,
        `capture before kill ${kill + 1}`,
        waitFor(`${rows} snapshot rows in the changelog`, async () => (await topicEnd(changelog)) >= rows, {
          timeoutMs: 180_000,
          intervalMs: 20,
        }),
      );
      const exit = await running.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', `capture was killed (kill ${kill + 1})`);
      t.diagnostic(`kill ${kill + 1}: capture killed at changelog offset >= ${rows}`);
      // While capture is down: a column added to the table read already, then to the one being read (which
      // is then read again from its start in the new shape, after a snapshot truncate).
      if (kill === 0) await scenario.source.query('ALTER TABLE accounts ADD COLUMN tier varchar(10) NULL');
      else
        await scenario.source.query("ALTER TABLE events ADD COLUMN origin varchar(10) NULL DEFAULT 'seed'");
      capture = startCapture();
    }
    // The writes go on into streaming, past the end of the snapshot.
    const from = await topicEnd(changelog);
    const last: CliProcess = capture;
    await whileAlive(
      last,
      'capture after the last restart',
      waitFor(
        'the snapshot to finish and the stream to go on',
        async () => (await topicEnd(changelog)) > from + BigInt(SEED_EVENTS - 9_000 + 2_000),
        { timeoutMs: 240_000, intervalMs: 250 },
      ),
    );
    await scenario.source.query("UPDATE accounts SET tier = 'gold' WHERE id % 7 = 0");
  } finally {
    stopWrites.abort();
  }
  const committed = await writes;
  t.diagnostic(`${committed} source transactions written`);
  assert.ok(committed > 0, 'the workload wrote during the snapshot');

  const summary = await whileAlive(
    capture,
    'capture while the replica catches up',
    scenario.assertConverged(`(seed ${seed})`),
  );
  t.diagnostic(`${summary.changelogEvents} changelog events`);
  const worker = apply.workers()[0];
  assert.equal(worker?.deadLetters, 0, 'no event was dead-lettered');
});
