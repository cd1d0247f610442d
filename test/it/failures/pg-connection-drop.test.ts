/**
 * Failure scenarios: a connection of the pipeline is dropped mid-stream, several times, while a randomized
 * workload writes: the walsender serving our slot (pg_terminate_backend), and separately the apply worker's
 * connection to the replica, a PostgreSQL one (pg_terminate_backend) or a MariaDB one (KILL CONNECTION). The
 * pipeline (in this process) reconnects by itself; the replica equals the source, nothing is applied twice,
 * and the changelog holds no duplicate.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { adminQuery } from '../../support/pg.ts';
import {
  createScenarioOn,
  type ReplicaKind,
  type ScenarioStage as Scenario,
} from '../../support/scenario.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload, seededRandom } from '../../support/workload.ts';

const DROPS = 3;

interface DropTarget {
  /** What is dropped, for messages. */
  readonly what: string;
  /** Terminates the connection; returns how many backends it ended (0 while it is not connected). */
  terminate(scenario: Scenario): Promise<number>;
  /** A number that grows as that connection does its work. */
  progress(scenario: Scenario): Promise<bigint>;
}

async function terminated(sql: string, params: readonly unknown[]): Promise<number> {
  const result = await adminQuery(sql, params);
  return result.rows.filter((row: { ended?: unknown }) => row.ended === 't' || row.ended === true).length;
}

const walsender: DropTarget = {
  what: 'the walsender of the slot',
  terminate: (scenario) =>
    terminated(
      `SELECT pg_terminate_backend(active_pid) AS ended FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [scenario.slot],
    ),
  progress: (scenario) => topicEnd(scenario.topics.changelog),
};

const applyConnection: DropTarget = {
  what: "the apply worker's replica connection",
  terminate: (scenario) => scenario.target.terminateApply(),
  progress: async (scenario) => BigInt(await scenario.target.changes()),
};

async function dropMidStream(
  t: TestContext,
  prefix: string,
  target: DropTarget,
  replica: ReplicaKind = 'postgres',
): Promise<void> {
  const scenario = await createScenarioOn(replica, prefix);
  let pipeline: RunningPipeline | null = null;
  try {
    const seed = Date.now() % 100_000;
    t.diagnostic(`seed ${seed}`);
    const random = seededRandom(seed);
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    pipeline = await startPipeline(scenario.config, logger, { api: false });
    await scenario.armAudit();

    const stopWrites = new AbortController();
    const writes = runWorkload(scenario.source, {
      transactions: 1_000_000,
      seed,
      // A MariaDB replica applies a truncate as a DELETE, whose row triggers the source's trail does not have.
      truncates: replica === 'postgres',
      pauseMs: 20,
      signal: stopWrites.signal,
    });
    try {
      for (let drop = 1; drop <= DROPS; drop++) {
        const from = await target.progress(scenario);
        const ahead = 1n + BigInt(Math.floor(random() * 300));
        await waitFor(
          `${target.what} to make ${ahead} more progress before drop ${drop}`,
          async () => (await target.progress(scenario)) >= from + ahead,
          { timeoutMs: 180_000, intervalMs: 50 },
        );
        await waitFor(
          `${target.what} to be terminated (drop ${drop})`,
          async () => (await target.terminate(scenario)) > 0,
          {
            timeoutMs: 120_000,
            intervalMs: 50,
          },
        );
        t.diagnostic(`drop ${drop}: terminated ${target.what} after progress ${from + ahead}`);
      }
      const from = await target.progress(scenario);
      await waitFor(
        `${target.what} to work again after the last drop`,
        async () => (await target.progress(scenario)) > from,
        {
          timeoutMs: 180_000,
        },
      );
    } finally {
      stopWrites.abort();
    }
    t.diagnostic(`${await writes} source transactions written`);

    const summary = await scenario.assertConverged(`after dropping ${target.what} (seed ${seed})`);
    t.diagnostic(
      `${summary.auditedChanges} row changes audited on both sides; ${summary.changelogEvents} changelog events`,
    );
    const connector = pipeline.connectors()[0];
    const worker = pipeline.workers()[0];
    assert.notEqual(connector?.state, 'failed', `capture recovered: ${connector?.lastError ?? ''}`);
    assert.notEqual(worker?.state, 'failed', `apply recovered: ${worker?.lastError ?? ''}`);
    assert.equal(worker?.deadLetters, 0, 'no event was dead-lettered');
  } finally {
    await pipeline?.stop();
    await scenario.cleanup();
  }
}

test('the walsender of our slot is terminated mid-stream, several times: capture reconnects, nothing lost, nothing twice', (t) =>
  dropMidStream(t, 'dropwal', walsender));

test("the apply worker's replica connection is terminated mid-stream, several times: apply reconnects, nothing lost, nothing twice", (t) =>
  dropMidStream(t, 'dropapply', applyConnection));

test("the apply worker's MariaDB replica connection is killed mid-stream, several times: apply reconnects, nothing lost, nothing twice", (t) =>
  dropMidStream(t, 'dropmyapply', applyConnection, 'mariadb'));
