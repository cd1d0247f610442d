/**
 * Failure scenario: a replica much slower than the stream (a trigger sleeps on every row it writes) with the
 * short group session the failure scenarios use (6 s), fed thousands of row changes: a burst while streaming,
 * and an initial snapshot while the source is busy. Applying one fetch takes far longer than the session. The
 * apply worker must keep its group membership while it works (no restart, no error on /status), keep
 * committing to the replica every few seconds (the applied position never stands still for long while changes
 * wait), and end with the replica equal to the source, every change applied once.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { auditCount } from '../../support/audit.ts';
import type { TestDatabase } from '../../support/pg.ts';
import { createScenario, WORKLOAD_TABLES, type Scenario } from '../../support/scenario.ts';
import { waitFor } from '../../support/wait.ts';
import { runWorkload, WORKLOAD_SCHEMA } from '../../support/workload.ts';

/** Time the replica spends on every row it writes: ~10,000 row changes take ~30 s to apply. */
const SLEEP_PER_ROW_S = 0.003;
/** The longest the replica may go without a commit while changes wait: twice the 6 s session. */
const MAX_STALL_MS = 12_000;

const scenarios: Scenario[] = [];
const pipelines: RunningPipeline[] = [];

after(async () => {
  for (const pipeline of pipelines) await pipeline.stop();
  for (const scenario of scenarios) await scenario.cleanup();
});

async function stage(prefix: string): Promise<Scenario> {
  const scenario = await createScenario(prefix);
  scenarios.push(scenario);
  return scenario;
}

/** Makes every row write on the replica tables slow for real: ENABLE ALWAYS fires under the apply session too. */
async function slowDownReplica(replica: TestDatabase): Promise<void> {
  await replica.query(`
    CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(${SLEEP_PER_ROW_S});
      RETURN COALESCE(NEW, OLD);
    END $$;
  `);
  for (const table of WORKLOAD_TABLES) {
    await replica.query(`
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

/** How the watch went: the longest the replica went without a commit, and the apply worker's errors. */
interface Watched {
  readonly longestStall: number;
  readonly errors: readonly string[];
}

/**
 * Polls until `caughtUp`, noting each time the replica's `progress` changes (a replica commit) and any error
 * the worker shows that was not there at the start. A stall longer than MAX_STALL_MS ends the watch at once.
 */
async function watchProgress(
  running: RunningPipeline,
  progress: () => Promise<string>,
  caughtUp: () => Promise<boolean>,
): Promise<Watched> {
  // An error of the start-up (the worker can start ahead of its topic) may still be on display; only a new one counts.
  const startupError = running.workers()[0]?.lastError ?? null;
  const errors = new Set<string>();
  let last = await progress();
  let lastProgress = Date.now();
  let longestStall = 0;
  await waitFor(
    'the replica to catch up',
    async () => {
      const worker = running.workers()[0];
      if (worker?.lastError && worker.lastError !== startupError) errors.add(worker.lastError);
      const now = await progress();
      if (now !== last) {
        last = now;
        lastProgress = Date.now();
      }
      longestStall = Math.max(longestStall, Date.now() - lastProgress);
      return longestStall > MAX_STALL_MS || (await caughtUp());
    },
    { timeoutMs: 300_000, intervalMs: 200 },
  );
  const watched = { longestStall, errors: [...errors] };
  assert.ok(
    longestStall <= MAX_STALL_MS,
    `the replica went ${longestStall} ms without a commit (at ${last}); worker errors: ${JSON.stringify(watched.errors)}`,
  );
  return watched;
}

test('a replica slower than the group session: membership kept, steady progress, nothing twice', async (t) => {
  const scenario = await stage('slowtgt');
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  const log = troubleLog();
  const running = await startPipeline(scenario.config, log.logger, { api: false });
  pipelines.push(running);
  await scenario.armAudit();
  await slowDownReplica(scenario.replica);
  log.watching = true;
  // A burst written flat out, so Kafka holds far more than one session's worth of work for the replica.
  const committed = await runWorkload(scenario.source, { transactions: 400, seed });
  const expected = await auditCount(scenario.source);
  t.diagnostic(`${committed} source transactions, ${expected} audited source row changes`);

  // Every replica commit shows as audited changes; the worker must never fail on the way.
  const watched = await watchProgress(
    running,
    async () => String(await auditCount(scenario.replica)),
    async () => (await auditCount(scenario.replica)) >= expected,
  );
  t.diagnostic(`longest time without a replica commit: ${watched.longestStall} ms`);
  assert.deepEqual(watched.errors, [], 'the apply worker reported no error (its group membership held)');
  assert.deepEqual(log.lines, [], 'the apply side logged no lost membership and no restart');
  assert.equal(running.workers()[0]?.state, 'running', 'the apply worker runs');

  const summary = await scenario.assertConverged(`(seed ${seed})`);
  t.diagnostic(`${summary.auditedChanges} row changes audited on both sides`);
});

test('an initial snapshot into a slow replica while the source is busy: steady progress, rows equal', async (t) => {
  const scenario = await stage('slowsnap');
  const seed = Date.now() % 100_000;
  t.diagnostic(`seed ${seed}`);
  // Thousands of rows for the snapshot, and replica tables made ahead (the sink adopts them) with the slow trigger.
  await scenario.source.query(`
    INSERT INTO events (account_id, kind, payload, at)
      SELECT g % 300, 'bulk', '{"bulk": true}', '2024-01-01 00:00:00.000001' FROM generate_series(1, 5000) g
  `);
  await scenario.replica.query(WORKLOAD_SCHEMA.replace('GENERATED ALWAYS AS IDENTITY ', ''));
  await slowDownReplica(scenario.replica);
  const log = troubleLog();
  const running = await startPipeline(scenario.config, log.logger, { api: false });
  pipelines.push(running);

  // The source stays busy while the snapshot is read and applied.
  const writes = runWorkload(scenario.source, { transactions: 300, seed, pauseMs: 20 });
  let written = false;
  void writes.then(() => {
    written = true;
  });
  const count = async (db: TestDatabase, table: string): Promise<number> =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  const rowsEqual = async (): Promise<boolean> => {
    for (const table of WORKLOAD_TABLES) {
      if ((await count(scenario.replica, table.name)) !== (await count(scenario.source, table.name)))
        return false;
    }
    return true;
  };
  const appliedPosition = async (): Promise<string> => {
    const exists = await scenario.replica.query(`SELECT to_regclass('cdc_apply.applied_position') AS t`);
    if (exists.rows[0]?.t === null) return 'none';
    const rows = await scenario.replica.query<{ position: string }>(
      'SELECT position FROM cdc_apply.applied_position WHERE stream = $1',
      [scenario.sourceName],
    );
    return rows.rows[0]?.position ?? 'none';
  };
  // Watched from the first replica commit on: the worker is running then.
  await waitFor('the first replica commit', async () => (await appliedPosition()) !== 'none', {
    timeoutMs: 120_000,
  });
  log.watching = true;
  const watched = await watchProgress(running, appliedPosition, async () => written && (await rowsEqual()));
  t.diagnostic(`${await writes} source transactions during the snapshot`);
  t.diagnostic(`longest time without a replica commit: ${watched.longestStall} ms`);
  assert.deepEqual(log.lines, [], 'the apply side logged no lost membership and no restart');

  // Rows equal, key for key and value for value; the changelog holds no duplicate.
  await scenario.armAudit();
  await scenario.assertConverged(`(seed ${seed})`);
});
