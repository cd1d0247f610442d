/**
 * Failure scenario: a replica much slower than the stream (a trigger sleeps on every row it writes) with the
 * short group session the failure scenarios use (6 s), fed a burst of thousands of row changes. Applying one
 * fetch takes far longer than the session. The apply worker must keep its group membership while it works
 * (no restart, no error on /status), keep committing to the replica every few seconds (the applied position
 * never stands still for long while changes wait), and end with the replica equal to the source, every change
 * applied once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { auditCount } from '../../support/audit.ts';
import { createScenario, WORKLOAD_TABLES, type Scenario } from '../../support/scenario.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload } from '../../support/workload.ts';

/** Time the replica spends on every row it writes: ~10,000 row changes take ~30 s to apply. */
const SLEEP_PER_ROW_S = 0.003;
/** The longest the replica may go without a commit while changes wait: twice the 6 s session. */
const MAX_STALL_MS = 12_000;

let scenario: Scenario;
let pipeline: RunningPipeline | null = null;

before(async () => {
  scenario = await createScenario('slowtgt');
});

after(async () => {
  await pipeline?.stop();
  await scenario.cleanup();
});

/** Makes every row write on the replica tables slow for real: ENABLE ALWAYS fires under the apply session too. */
async function slowDownReplica(): Promise<void> {
  await scenario.replica.query(`
    CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(${SLEEP_PER_ROW_S});
      RETURN COALESCE(NEW, OLD);
    END $$;
  `);
  for (const table of WORKLOAD_TABLES) {
    await scenario.replica.query(`
      CREATE TRIGGER slow_row BEFORE INSERT OR UPDATE OR DELETE ON ${table.name}
        FOR EACH ROW EXECUTE FUNCTION slow_row();
      ALTER TABLE ${table.name} ENABLE ALWAYS TRIGGER slow_row;
    `);
  }
}

/** Lines the apply side logs at warn or above that tell of a lost membership or a restarted worker. */
const MEMBERSHIP_TROUBLE = /not aware of this member|membership lost|rebalanc|task failed/i;

/**
 * A logger at warn level that keeps the apply side's troubled lines once `watching` is set, as an operator
 * reading the log would (before that, a worker started ahead of its topic retries, which is not at issue here).
 */
function troubleLog(): { logger: pino.Logger; lines: string[]; watching: boolean } {
  const log = { logger: pino({ level: 'silent' }), lines: [] as string[], watching: false };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (log.watching && line.includes('"replica":"dst"') && MEMBERSHIP_TROUBLE.test(line))
          log.lines.push(line.slice(0, 400));
      }
      done();
    },
  });
  log.logger = pino({ level: 'warn' }, sink);
  return log;
}

test('a replica slower than the group session: membership kept, steady progress, nothing twice', async (t) => {
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const log = troubleLog();
  pipeline = await startPipeline(scenario.config, log.logger, { api: false });
  const running = pipeline;
  await scenario.armAudit();
  await slowDownReplica();
  log.watching = true;
  // An error of the start-up (the worker can start ahead of its topic) may still be on display; only a new one counts.
  const startupError = running.workers()[0]?.lastError ?? null;

  // A burst written flat out, so Kafka holds far more than one session's worth of work for the replica.
  const committed = await runWorkload(scenario.source, { transactions: 400, seed });
  const expected = await auditCount(scenario.source);
  t.diagnostic(`${committed} source transactions, ${expected} audited source row changes`);

  // Watch the replica catch up: every commit shows as audited changes; the worker must never fail on the way.
  const errors = new Set<string>();
  let applied = await auditCount(scenario.replica);
  let lastProgress = Date.now();
  let longestStall = 0;
  await waitFor(
    `the replica to apply all ${expected} source changes`,
    async () => {
      const worker = running.workers()[0];
      if (worker?.lastError && worker.lastError !== startupError) errors.add(worker.lastError);
      const now = await auditCount(scenario.replica);
      if (now > applied) {
        applied = now;
        lastProgress = Date.now();
      }
      longestStall = Math.max(longestStall, Date.now() - lastProgress);
      // A stall ends the wait at once: the assertion below says what it was.
      return applied >= expected || longestStall > MAX_STALL_MS;
    },
    { timeoutMs: 300_000, intervalMs: 200 },
  );
  assert.ok(
    longestStall <= MAX_STALL_MS,
    `the replica went ${longestStall} ms without a commit at ${applied} of ${expected} changes; worker errors: ${JSON.stringify([...errors])}`,
  );
  t.diagnostic(`longest time without a replica commit: ${longestStall} ms`);
  assert.deepEqual([...errors], [], 'the apply worker reported no error (its group membership held)');
  assert.deepEqual(log.lines, [], 'the apply side logged no lost membership and no restart');
  assert.equal(running.workers()[0]?.state, 'running', 'the apply worker runs');

  const summary = await scenario.assertConverged(`(seed ${seed})`);
  t.diagnostic(`${summary.auditedChanges} row changes audited on both sides`);
});
