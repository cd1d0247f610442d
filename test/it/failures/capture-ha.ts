/**
 * Capture high availability (`sources[].ha`), the scenario both source kinds run (capture-ha-postgres.test.ts,
 * capture-ha-mariadb.test.ts): two `cdc run --role capture` processes for one source while a randomized
 * workload writes; apply runs in the test's process. The process holding the lease captures, the other stands
 * by. Several times the active one is killed with SIGKILL (a standby takes over; a new process replaces the dead
 * one as standby), and once it is frozen with SIGSTOP instead: a standby takes over, and the frozen one, thawed,
 * finds itself fenced or without the lease and stands by instead of failing (it may be the one to take over at
 * the next kill). Afterwards the stage's own convergence check: the replica equals the source, the changelog
 * holds every position once and in order, and the audit trails are equal (nothing lost, nothing twice).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { logLines, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const ROUNDS = Number(process.env.CDC_TEST_HA_ROUNDS ?? 3);
/** The round in which the active process is frozen rather than killed. */
const FROZEN_ROUND = 2;
const ACTIVE = 'this process holds the capture lease: capturing';
const STANDING_BY = new Set([
  'the capture lease moved: stopping capture, standing by',
  'another process took over this capture; standing by',
]);

/** A source, replica and pipeline with `ha: true` on the source. */
export interface HaStage {
  readonly config: PipelineConfig;
  readonly configPath: string;
  readonly changelog: string;
  /** Waits for the snapshot to reach the replica, then arms the audit. */
  armAudit(): Promise<void>;
  /** Writes until `signal` aborts; resolves with the transactions committed. */
  write(seed: number, signal: AbortSignal): Promise<number>;
  assertConverged(when: string): Promise<{ auditedChanges: number; changelogEvents: number }>;
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

function takeovers(child: CliProcess): number {
  return logLines(child.stdout()).filter((line) => line.msg === ACTIVE).length;
}

export class HaRun {
  readonly #stage: HaStage;
  readonly #processes = new Set<CliProcess>();
  #apply: RunningPipeline | null = null;

  constructor(stage: HaStage) {
    this.#stage = stage;
  }

  /** Every capture process started, the dead ones too, for their output (CDC_TEST_HA_LOGS: a folder to keep it). */
  readonly #all: CliProcess[] = [];

  #startCapture(): CliProcess {
    const child = startCli(['run', '--config', this.#stage.configPath, '--role', 'capture']);
    this.#processes.add(child);
    this.#all.push(child);
    return child;
  }

  /** Waits until exactly one live process says it captures, and returns it. */
  async #theActive(what: string): Promise<CliProcess> {
    let active: CliProcess | undefined;
    await waitFor(
      what,
      () => {
        const holders = [...this.#processes].filter((child) => child.exit() === null && holdsLease(child));
        active = holders.length === 1 ? holders[0] : undefined;
        return Promise.resolve(active !== undefined);
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    return active!;
  }

  async #publishesMore(what: string, ahead: bigint): Promise<void> {
    const changelog = this.#stage.changelog;
    const from = await topicEnd(changelog);
    await waitFor(what, async () => (await topicEnd(changelog)) >= from + ahead, {
      timeoutMs: 180_000,
      intervalMs: 50,
    });
  }

  async run(t: TestContext): Promise<void> {
    const stage = this.#stage;
    const seed = Date.now() % 100_000;
    t.diagnostic(`seed ${seed}, ${ROUNDS} rounds`);
    const random = seededRandom(seed);
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    this.#apply = await startPipeline(stage.config, logger, { roles: ['apply'], api: false });
    const first = this.#startCapture();
    await whileAlive(first, 'the first capture during the snapshot', stage.armAudit());
    this.#startCapture();

    const stopWrites = new AbortController();
    const writes = stage.write(seed, stopWrites.signal);
    try {
      for (let round = 1; round <= ROUNDS; round++) await this.#round(t, round, random);
      await this.#publishesMore('capture to go on after the last round', 1n);
    } finally {
      stopWrites.abort();
    }
    const committed = await writes;
    t.diagnostic(`${committed} source transactions written`);
    assert.ok(committed > 0, 'the workload wrote while captures were killed');
    const active = await this.#theActive('one process to hold the lease at the end');
    const summary = await whileAlive(
      active,
      'capture while the replica catches up',
      stage.assertConverged(`(seed ${seed})`),
    );
    t.diagnostic(
      `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
    );
    assert.equal(this.#apply.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');
    for (const child of this.#processes)
      assert.equal(child.exit(), null, `capture process ${child.pid} is still running`);
  }

  async #round(t: TestContext, round: number, random: () => number): Promise<void> {
    const active = await this.#theActive(`one process to hold the lease before round ${round}`);
    const standbys = [...this.#processes].filter((child) => child !== active && child.exit() === null);
    await whileAlive(
      active,
      `the active capture before round ${round}`,
      this.#publishesMore(
        `capture to publish more before round ${round}`,
        1n + BigInt(Math.floor(random() * 300)),
      ),
    );
    const before = new Map(standbys.map((child) => [child, takeovers(child)]));
    const started = Date.now();
    const freeze = round === FROZEN_ROUND;
    if (freeze) {
      process.kill(active.pid, 'SIGSTOP');
    } else {
      const exit = await active.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', `the active capture was killed (round ${round})`);
      this.#processes.delete(active);
    }
    await waitFor(
      `a standby to take the lease over in round ${round}`,
      () => Promise.resolve(standbys.some((child) => takeovers(child) > (before.get(child) ?? 0))),
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    await this.#publishesMore(`the new holder to publish in round ${round}`, 1n);
    t.diagnostic(
      `round ${round}: ${freeze ? 'froze' : 'killed'} ${active.pid}; a standby published ${Date.now() - started} ms later`,
    );
    if (!freeze) {
      this.#startCapture();
      return;
    }
    process.kill(active.pid, 'SIGCONT');
    await waitFor('the thawed process to stand by', () => Promise.resolve(!holdsLease(active)), {
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    assert.equal(active.exit(), null, 'the thawed process is still running');
  }

  async stop(): Promise<void> {
    for (const child of this.#processes) {
      if (child.exit() === null) process.kill(child.pid, 'SIGCONT');
      await child.kill('SIGKILL');
    }
    const folder = process.env.CDC_TEST_HA_LOGS;
    if (folder !== undefined) {
      await mkdir(folder, { recursive: true });
      for (const child of this.#all)
        await writeFile(join(folder, `capture-${child.pid}.log`), child.stdout());
    }
    await this.#apply?.stop();
  }
}
