/**
 * Failure scenarios: the MariaDB primary a capture reads is replaced by its replica, on two servers of the test's
 * own (a GTID replication group: log_slave_updates=ON, gtid_strict_mode=ON, distinct server ids, one domain),
 * both listed to the capture (`url` and `candidates`), applying into a PostgreSQL replica.
 *
 * - A switchover in the middle of a workload (old primary read-only, replica caught up with MASTER_GTID_WAIT,
 *   old primary stopped, replica promoted, writers go on there): capture follows it, the replica ends equal to
 *   the new primary, every committed row was published exactly once, and no event is taken for a foreign origin.
 * - A crash that loses transactions: the replica stopped replicating, the primary committed more (capture
 *   published it), then died; the replica is promoted without it. Capture stops with SOURCE_POSITION_MISSING
 *   naming the GTID and the server, instead of resuming with a gap.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test, type TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createTestPipeline, type TestPipeline } from '../../support/binlog-pipeline.ts';
import { positionProblems, readChangelog, topicEnd } from '../../support/changelog.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import type { ThrowawayMariadb } from '../../support/throwaway-mariadb.ts';
import { caughtUp, GROUP_PASSWORD as PASSWORD, startGtidGroup } from '../../support/mariadb-gtid-group.ts';
import { waitFor } from '../../support/wait.ts';

const SEED_ROWS = 20;
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Stage {
  readonly primary: ThrowawayMariadb;
  readonly replica: ThrowawayMariadb;
  readonly target: TestDatabase;
  readonly pipeline: TestPipeline;
  readonly running: RunningPipeline;
}

/** Primary (server_id 11) and its GTID replica (12), the seeded table, and a pipeline with both as candidates. */
async function stage(prefix: string): Promise<Stage> {
  const { primary, replica } = await startGtidGroup(SEED_ROWS);
  cleanups.push(
    () => primary.stop(),
    () => replica.stop(),
  );
  const target = await createDatabase(`${prefix}_dst`);
  cleanups.push(() => target.drop());
  const pipeline = await createTestPipeline({
    prefix,
    source: {
      kind: 'mariadb',
      url: primary.url('cdc', PASSWORD, 'shop'),
      tables: ['shop.items'],
      settings: { candidates: [replica.url('cdc', PASSWORD, 'shop')] },
    },
    replica: { kind: 'postgres', url: target.url },
  });
  cleanups.push(() => pipeline.cleanup());
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  const running = await startPipeline(pipeline.config, logger, { api: false });
  cleanups.push(() => running.stop());
  await waitFor(
    'the seed rows on the replica',
    async () => (await replicaRows(target)).length === SEED_ROWS,
    {
      timeoutMs: 90_000,
    },
  );
  return { primary, replica, target, pipeline, running };
}

const line = (row: Record<string, unknown>) =>
  `${String(row.id)} ${String(row.writer)} ${String(row.n)} ${String(row.note)}`;

async function sourceRows(server: ThrowawayMariadb): Promise<string[]> {
  return (await server.query('SELECT id, writer, n, note FROM shop.items ORDER BY id')).map(line);
}

async function replicaRows(target: TestDatabase): Promise<string[]> {
  const result = await target
    .query('SELECT id, writer, n, note FROM shop.items ORDER BY id')
    .catch(() => null);
  return result === null ? [] : result.rows.map(line);
}

/**
 * Writers inserting a row and updating one of their earlier rows per transaction, on whichever server is the
 * primary now; a refused write (read-only during the switch) is retried there. A row counts as committed once
 * COMMIT returned; a connection lost during COMMIT leaves it uncertain.
 */
class Writers {
  primary: ThrowawayMariadb;
  readonly committed = new Set<string>();
  readonly uncertain = new Set<string>();
  readonly #stop = new AbortController();
  readonly #running: Promise<void>[];

  constructor(primary: ThrowawayMariadb, count: number) {
    this.primary = primary;
    this.#running = Array.from({ length: count }, (_, i) => this.#write(i + 1));
  }

  async #write(writer: number): Promise<void> {
    let connection: mysql.Connection | null = null;
    const mine: number[] = [];
    for (let k = 1; !this.#stop.signal.aborted; k++) {
      const id = writer * 1_000_000 + k;
      let committing = false;
      try {
        connection ??= await mysql.createConnection({
          host: '127.0.0.1',
          port: this.primary.port,
          user: 'app',
          password: PASSWORD,
          database: 'shop',
        });
        await connection.query('BEGIN');
        await connection.query('INSERT INTO items VALUES (?, ?, 0, ?)', [id, writer, `w${writer}`]);
        if (mine.length > 0)
          await connection.query('UPDATE items SET n = n + 1 WHERE id = ?', [mine[k % mine.length]]);
        committing = true;
        await connection.query('COMMIT');
        this.committed.add(String(id));
        mine.push(id);
        await delay(5); // pacing: a steady workload, not a flood on a shared machine
      } catch {
        if (committing) this.uncertain.add(String(id));
        await connection?.end().catch(() => undefined);
        connection = null;
        await delay(20); // the switch is under way: try again on the primary of the moment
      }
    }
    await connection?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#running);
  }
}

function connectorOf(s: Stage) {
  return s.running.connectors().find((connector) => connector.name === s.pipeline.sourceName);
}

async function published(s: Stage, more: bigint, what: string): Promise<void> {
  const from = await topicEnd(s.pipeline.topics.changelog);
  await waitFor(what, async () => (await topicEnd(s.pipeline.topics.changelog)) >= from + more, {
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

/**
 * The switchover, as an operator runs it. `oldPrimary: 'stopped'` stops it before the promotion (capture loses
 * its stream and finds the new primary among the candidates); `'read-only'` leaves it up, read-only, until
 * capture has moved (capture notices that another candidate is the writable primary and leaves it).
 */
async function switchover(
  t: TestContext,
  prefix: string,
  oldPrimary: 'stopped' | 'read-only',
): Promise<void> {
  const s = await stage(prefix);
  const writers = new Writers(s.primary, 2);
  cleanups.push(() => writers.stop());
  await published(s, 300n, 'the stream to be under way on the first primary');

  // The switchover, as an operator runs it.
  await s.primary.query('SET GLOBAL read_only = 1');
  await caughtUp(s.primary, s.replica);
  if (oldPrimary === 'stopped') await s.primary.shutdown();
  await s.replica.query('STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0');
  writers.primary = s.replica;
  const newLabel = `127.0.0.1:${s.replica.port}`;
  await waitFor(
    'capture to stream from the new primary',
    () => {
      const connector = connectorOf(s);
      return connector?.state === 'streaming' && connector.server?.current === newLabel;
    },
    { timeoutMs: 60_000 },
  );
  await published(s, 300n, 'the stream to go on from the new primary');
  await writers.stop();
  if (oldPrimary === 'read-only') await s.primary.shutdown();

  const rows = await sourceRows(s.replica);
  await waitFor('the replica to equal the new primary', async () =>
    JSON.stringify(await replicaRows(s.target)) === JSON.stringify(rows) ? true : null,
  ).catch(async (error: unknown) => {
    const got = await replicaRows(s.target);
    assert.deepEqual(got, rows, `replica rows (${String(error)})`);
  });
  // The old primary is gone: verify finds the new one among the candidates, as capture did.
  const report = await s.running.verify?.({ replica: s.pipeline.replicaName });
  assert.equal(report?.equal, true, `verify against the new primary: ${JSON.stringify(report?.tables)}`);
  const ids = new Set(rows.map((row) => row.split(' ')[0]!));
  for (const id of writers.committed) assert.ok(ids.has(id), `committed row ${id} is on the new primary`);
  for (const id of ids)
    if (Number(id) > SEED_ROWS)
      assert.ok(writers.committed.has(id) || writers.uncertain.has(id), `row ${id} was written by a writer`);

  const events = await readChangelog(s.pipeline.name, s.pipeline.topics.changelog);
  assert.deepEqual(positionProblems(events), [], 'changelog positions strictly increase: no duplicate');
  const inserts = new Map<string, number>();
  for (const { event } of events)
    if (event.op === 'c') inserts.set(String(event.after.id), (inserts.get(String(event.after.id)) ?? 0) + 1);
  for (const id of ids)
    if (Number(id) > SEED_ROWS) assert.equal(inserts.get(id), 1, `row ${id} was published once`);
  assert.equal(inserts.size, ids.size - SEED_ROWS, 'no insert published that the primary does not hold');
  const foreign = events.filter(({ event }) => event.source.origin !== null);
  assert.equal(foreign.length, 0, 'both servers of the group are the source itself, no foreign origin');
  const servers = new Set(events.map(({ event }) => event.source.txId?.split('-')[1]));
  assert.ok(
    servers.has('11') && servers.has('12'),
    `transactions of both primaries: ${[...servers].join(',')}`,
  );
  t.diagnostic(
    `${writers.committed.size} transactions committed (${writers.uncertain.size} uncertain), ${events.length} events`,
  );
}

test('MariaDB switchover mid-workload, old primary stopped: capture follows the new primary, every committed row exactly once', (t) =>
  switchover(t, 'mswitch', 'stopped'));

test('MariaDB switchover mid-workload, old primary left up read-only: capture leaves it for the new primary', (t) =>
  switchover(t, 'mswitchro', 'read-only'));

test('MariaDB primary crash with lost transactions: capture stops naming the missing GTID', async () => {
  const s = await stage('mlost');
  // The replica stops following: what the primary commits next never reaches it.
  await s.replica.query('STOP SLAVE');
  const writers = new Writers(s.primary, 1);
  cleanups.push(() => writers.stop());
  await published(s, 50n, 'capture to publish transactions the replica does not have');
  await writers.stop();
  const [row] = await s.primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  const lastOnPrimary = String(row?.pos ?? '');
  await waitFor('capture to have published all of them', () =>
    connectorOf(s)?.received?.startsWith(`${lastOnPrimary} `),
  );
  await s.primary.kill();
  await s.replica.query('RESET SLAVE ALL; SET GLOBAL read_only = 0');
  await s.replica.query("INSERT INTO shop.items VALUES (999999, 9, 0, 'after the crash')");

  const failed = await waitFor(
    'capture to stop on the missing position',
    () => {
      const connector = connectorOf(s);
      return connector?.state === 'failed' ? connector : null;
    },
    { timeoutMs: 60_000 },
  );
  assert.match(
    failed.lastError ?? '',
    new RegExp(
      `GTID ${lastOnPrimary}, the last change published, is not in the binlog of 127\\.0\\.0\\.1:${s.replica.port} \\(server_id 12\\).*re-snapshot`,
    ),
  );
  const events = await readChangelog(s.pipeline.name, s.pipeline.topics.changelog);
  assert.deepEqual(
    events.filter(({ event }) => event.source.txId?.startsWith('0-12-')),
    [],
    'nothing of the new primary was published',
  );
});
