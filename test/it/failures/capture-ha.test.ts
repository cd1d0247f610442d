/**
 * Capture high availability (`sources[].ha`): two `cdc run --role capture` processes for one PostgreSQL source,
 * a randomized workload writing. The one holding the lease captures, the other stands by. Several times, the
 * active one is killed with SIGKILL (the standby takes over; a new process replaces the dead one as standby),
 * and once it is frozen with SIGSTOP instead: the standby takes over, and the frozen one, thawed, finds itself
 * fenced or without the lease and stands by instead of failing (it is the one to take over at the next kill).
 * Afterwards the replica equals the source, the changelog holds every position once and in order, and the
 * replica's audit trail equals the source's: nothing lost, nothing twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { logLines, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createScenario, type Scenario } from '../../support/scenario.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload, seededRandom } from '../../support/workload.ts';

const ROUNDS = Number(process.env.CDC_TEST_HA_ROUNDS ?? 4);
/** The round in which the active process is frozen rather than killed. */
const FROZEN_ROUND = 2;
const ACTIVE = 'this process holds the capture lease: capturing';
const STANDING_BY = new Set([
  'the capture lease moved: stopping capture, standing by',
  'another process took over this capture; standing by',
]);

let scenario: Scenario;
let apply: RunningPipeline | null = null;
const processes = new Set<CliProcess>();

before(async () => {
  scenario = await createScenario('hacap', { source: { ha: true } });
});

after(async () => {
  for (const child of processes) {
    if (child.exit() === null) process.kill(child.pid, 'SIGCONT');
    await child.kill('SIGKILL');
  }
  await apply?.stop();
  await scenario.cleanup();
});

function startCapture(): CliProcess {
  const child = startCli(['run', '--config', scenario.configPath, '--role', 'capture']);
  processes.add(child);
  return child;
}

/** Whether the process's last word on the lease is that it captures. */
function holdsLease(child: CliProcess): boolean {
  let holds = false;
  for (const line of logLines(child.stdout())) {
    if (line.msg === ACTIVE) holds = true;
    else if (typeof line.msg === 'string' && STANDING_BY.has(line.msg)) holds = false;
  }
  return holds;
}

function leaseMessages(child: CliProcess): number {
  return logLines(child.stdout()).filter((line) => line.msg === ACTIVE).length;
}

/** Waits until exactly one live process says it captures, and returns it. */
async function theActive(what: string): Promise<CliProcess> {
  let active: CliProcess | undefined;
  await waitFor(
    what,
    () => {
      const holders = [...processes].filter((child) => child.exit() === null && holdsLease(child));
      active = holders.length === 1 ? holders[0] : undefined;
      return Promise.resolve(active !== undefined);
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  );
  return active!;
}

async function publishesMore(what: string, ahead: bigint): Promise<void> {
  const from = await topicEnd(scenario.topics.changelog);
  await waitFor(what, async () => (await topicEnd(scenario.topics.changelog)) >= from + ahead, {
    timeoutMs: 180_000,
    intervalMs: 50,
  });
}

test('the active capture killed or frozen, several times: a standby takes over, nothing lost, nothing twice', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}, ${ROUNDS} rounds`);
  const random = seededRandom(seed);
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  apply = await startPipeline(scenario.config, logger, { roles: ['apply'], api: false });
  const first = startCapture();
  await whileAlive(first, 'the first capture during the snapshot', scenario.armAudit());
  startCapture();

  const stopWrites = new AbortController();
  const writes = runWorkload(scenario.source, {
    transactions: 1_000_000,
    seed,
    truncates: true,
    pauseMs: 10,
    signal: stopWrites.signal,
  });
  let frozen: CliProcess | null = null;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const active = await theActive(`one process to hold the lease before round ${round}`);
      const standbys = [...processes].filter((child) => child !== active && child.exit() === null);
      await whileAlive(
        active,
        `the active capture before round ${round}`,
        publishesMore(
          `capture to publish more before round ${round}`,
          1n + BigInt(Math.floor(random() * 300)),
        ),
      );
      const takeovers = new Map(standbys.map((child) => [child, leaseMessages(child)]));
      const started = Date.now();
      if (round === FROZEN_ROUND) {
        process.kill(active.pid, 'SIGSTOP');
        frozen = active;
      } else {
        const exit = await active.kill('SIGKILL');
        assert.equal(exit.signal, 'SIGKILL', `the active capture was killed (round ${round})`);
        processes.delete(active);
      }
      await waitFor(
        `a standby to take the lease over in round ${round}`,
        () => Promise.resolve(standbys.some((child) => leaseMessages(child) > (takeovers.get(child) ?? 0))),
        { timeoutMs: 120_000, intervalMs: 100 },
      );
      await publishesMore(`the new holder to publish in round ${round}`, 1n);
      t.diagnostic(
        `round ${round}: ${round === FROZEN_ROUND ? 'froze' : 'killed'} ${active.pid}; a standby published ${Date.now() - started} ms later`,
      );
      if (round === FROZEN_ROUND && frozen !== null) {
        process.kill(frozen.pid, 'SIGCONT');
        const thawed: CliProcess = frozen;
        await waitFor('the thawed process to stand by', () => Promise.resolve(!holdsLease(thawed)), {
          timeoutMs: 120_000,
          intervalMs: 100,
        });
        assert.equal(thawed.exit(), null, 'the thawed process is still running');
      } else {
        startCapture();
      }
    }
    await publishesMore('capture to go on after the last round', 1n);
  } finally {
    stopWrites.abort();
  }
  const committed = await writes;
  t.diagnostic(`${committed} source transactions written`);
  assert.ok(committed > 0, 'the workload wrote while captures were being killed');
  const active = await theActive('one process to hold the lease at the end');
  const summary = await whileAlive(
    active,
    'capture while the replica catches up',
    scenario.assertConverged(`(seed ${seed})`),
  );
  t.diagnostic(
    `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
  );
  assert.equal(apply.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');
  for (const child of processes)
    assert.equal(child.exit(), null, `capture process ${child.pid} is still running`);
});
