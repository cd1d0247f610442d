/**
 * Dead letters re-driven through the API of a running pipeline, PostgreSQL to a PostgreSQL and to a MariaDB
 * replica. The replica's tables were created by hand with CHECK constraints the source does not have, so three
 * changes are dead-lettered while the changes after them apply. Then, as an operator would: list the dead
 * letters and their reasons, fix one cause, replay (it stops at the dead letter whose cause is not fixed,
 * keeping the original order), fix the other, replay again (the rest arrives), replay once more with
 * `cdc dlq replay` (nothing happens), replay after the replay progress in Kafka was lost (nothing is applied
 * twice: the keyless table would show a second row), and the stream keeps applying afterwards.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { positionRow } from '../../../services/apply/position-rows.ts';
import type { DeadLetterPage } from '../../../services/dlq/list.ts';
import { replayPositionKey, type ReplayProgress } from '../../../services/dlq/replay.ts';
import { replayGroup } from '../../../services/kafka/dlq-reader.ts';
import { createTestPipeline } from '../../support/binlog-pipeline.ts';
import { startCli } from '../../support/child-process.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const TABLES = `
  CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text);
  CREATE TABLE ledger (n int NOT NULL, amount int NOT NULL);
`;

async function api<T>(running: RunningPipeline, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${running.apiUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Starts a replay and follows GET /dlq/replay until it is no longer running. */
async function replay(running: RunningPipeline): Promise<ReplayProgress> {
  await api<ReplayProgress>(running, 'POST', '/dlq/replay', {});
  return waitFor(
    'the replay to end',
    async () => {
      const progress = await api<ReplayProgress>(running, 'GET', '/dlq/replay');
      return progress.state === 'running' ? null : progress;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** A database of the scenario, PostgreSQL or MariaDB: statements, and a table's rows as `a,b,c` text lines. */
interface Side {
  exec(sql: string): Promise<void>;
  rows(table: string, order: string): Promise<string[]>;
  /** The stored applied position of a stream (or of a replay's own key). */
  position(key: string): Promise<string | undefined>;
}

const line = (row: Record<string, unknown>): string =>
  Object.values(row)
    .map((value) => (value === null ? 'NULL' : String(value as string)))
    .join(',');

function postgresSide(db: TestDatabase): Side {
  return {
    exec: async (sql) => void (await db.query(sql)),
    rows: async (table, order) => (await db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows.map(line),
    position: async (key) =>
      (
        await db.query<{ position: string }>(
          'SELECT position FROM cdc_apply.applied_position WHERE stream = $1',
          [key],
        )
      ).rows[0]?.position,
  };
}

function mariadbSide(db: MariadbTestDatabase): Side {
  return {
    exec: async (sql) => void (await db.query(sql)),
    rows: async (table, order) => (await db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).map(line),
    position: async (key) =>
      (
        await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = ?', [
          positionRow(key, db.name),
        ])
      )[0]?.position ?? undefined,
  };
}

async function redrive(kind: 'postgres' | 'mariadb'): Promise<void> {
  const sourceDb = await createDatabase('dlq_src');
  cleanups.push(() => sourceDb.drop());
  const source = postgresSide(sourceDb);
  let replica: Side;
  let replicaUrl: string;
  if (kind === 'postgres') {
    const db = await createDatabase('dlq_dst');
    cleanups.push(() => db.drop());
    replica = postgresSide(db);
    replicaUrl = db.url;
  } else {
    const db = await createMariadbDatabase('dlq_dst');
    cleanups.push(() => db.drop());
    replica = mariadbSide(db);
    replicaUrl = db.url;
  }
  await source.exec(TABLES);
  await source.exec(`ALTER TABLE ledger REPLICA IDENTITY FULL`);
  await source.exec(`INSERT INTO items SELECT g, g, 'seed' FROM generate_series(1, 5) g`);
  // The replica's own constraints, stricter than the source's: the cause of the dead letters.
  for (const statement of TABLES.split(';').filter((text) => text.trim() !== ''))
    await replica.exec(statement);
  await replica.exec(`ALTER TABLE items ADD CONSTRAINT items_qty_small CHECK (qty < 100)`);
  await replica.exec(`ALTER TABLE ledger ADD CONSTRAINT ledger_positive CHECK (amount > 0)`);

  const pipeline = await createTestPipeline({
    prefix: 'dlq',
    source: { kind: 'postgres', url: sourceDb.url, tables: ['public.items', 'public.ledger'] },
    replica: { kind, url: replicaUrl },
    onError: 'dead-letter',
  });
  cleanups.push(async () => {
    await pipeline.cleanup();
    await deleteKafkaState([], [replayGroup(pipeline.name, pipeline.replicaName)], `${pipeline.name}.dlq-`);
    if (kind === 'mariadb') await forgetMariadbAppliedPosition(replayPositionKey(pipeline.sourceName));
  });
  const running = await startPipeline(
    pipeline.config,
    createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }),
  );
  cleanups.push(() => running.stop());
  await waitFor('the snapshot on the replica', async () => (await replica.rows('items', 'id')).length === 5, {
    timeoutMs: 120_000,
    intervalMs: 250,
  });

  // Three changes the replica refuses, each in its own source transaction, and two it takes after them.
  await source.exec(`INSERT INTO items VALUES (6, 500, 'six')`);
  await source.exec(`INSERT INTO ledger VALUES (1, -5)`);
  await source.exec(`UPDATE items SET qty = 700, note = 'one' WHERE id = 1`);
  await source.exec(`INSERT INTO ledger VALUES (2, 10)`);
  await source.exec(`INSERT INTO items VALUES (8, 1, 'marker')`);
  await waitFor(
    'the marker row and three dead letters',
    async () =>
      (await replica.rows('items', 'id')).includes('8,1,marker') && running.workers()[0]?.deadLetters === 3,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  const stream = () => replica.position(pipeline.sourceName);
  const streamBefore = await stream();

  // The listing: what, where and why, oldest first; filtered by table; paged.
  const listed = await api<DeadLetterPage>(running, 'GET', '/dlq');
  assert.deepEqual(
    listed.entries.map((entry) => [entry.table, entry.op, entry.replayed]),
    [
      ['public.items', 'c', false],
      ['public.ledger', 'c', false],
      ['public.items', 'u', false],
    ],
  );
  for (const entry of listed.entries) assert.match(entry.reason, /items_qty_small|ledger_positive/);
  assert.equal(listed.next, null);
  const ledgerOnly = await api<DeadLetterPage>(running, 'GET', '/dlq?table=public.ledger');
  assert.deepEqual(
    ledgerOnly.entries.map((entry) => entry.offset),
    [listed.entries[1]!.offset],
  );
  const firstPage = await api<DeadLetterPage>(running, 'GET', '/dlq?limit=2');
  assert.equal(firstPage.entries.length, 2);
  assert.equal(firstPage.next, listed.entries[2]!.offset);
  const secondPage = await api<DeadLetterPage>(running, 'GET', `/dlq?from=${firstPage.next}`);
  assert.deepEqual(
    secondPage.entries.map((entry) => entry.op),
    ['u'],
  );

  // One cause fixed: the replay applies the first dead letter and stops before the ledger one, so the update
  // after it is not applied out of order either.
  await replica.exec(`ALTER TABLE items DROP CONSTRAINT items_qty_small`);
  const stopped = await replay(running);
  assert.equal(stopped.state, 'failed');
  assert.equal(stopped.replayed, 1);
  assert.match(stopped.error ?? '', /public\.ledger.*ledger_positive|ledger_positive/s);
  assert.equal(stopped.next, listed.entries[1]!.offset);
  assert.ok((await replica.rows('items', 'id')).includes('6,500,six'));
  assert.ok((await replica.rows('items', 'id')).includes('1,1,seed'), 'the later update waits');
  const afterStop = await api<DeadLetterPage>(running, 'GET', '/dlq');
  assert.deepEqual(
    afterStop.entries.map((entry) => entry.replayed),
    [true, false, false],
  );

  // The other cause fixed: the rest arrives, and the replica equals the source.
  await replica.exec(`ALTER TABLE ledger DROP CONSTRAINT ledger_positive`);
  const finished = await replay(running);
  assert.deepEqual(
    { state: finished.state, replayed: finished.replayed, alreadyReplayed: finished.alreadyReplayed },
    { state: 'done', replayed: 2, alreadyReplayed: 0 },
  );
  assert.equal(finished.next, listed.high);
  assert.deepEqual(await replica.rows('items', 'id'), await source.rows('items', 'id'));
  assert.deepEqual(await replica.rows('ledger', 'n'), await source.rows('ledger', 'n'));

  // Replaying again does nothing; as the operator does it, with the CLI.
  const again = startCli(['dlq', 'replay', '--api', running.apiUrl!, '--interval', '100']);
  assert.equal((await again.exited).code, 0, again.stderr());
  assert.match(again.stdout(), /replay of dst done: 0 replayed, 0 already replayed/);
  const list = startCli(['dlq', 'list', '--api', running.apiUrl!, '--table', 'public.ledger']);
  assert.equal((await list.exited).code, 0, list.stderr());
  assert.match(list.stdout(), /public\.ledger +c +pg:\S+ +yes +\[APPLY_FAILED\] .*ledger_positive/);
  // The same without the API, from the configuration (Kafka read directly).
  const direct = startCli(['dlq', 'list', '--config', pipeline.configPath, '--limit', '1']);
  assert.equal((await direct.exited).code, 0, direct.stderr());
  assert.match(direct.stdout(), /public\.items +c +pg:\S+ +yes .*items_qty_small/);
  assert.match(direct.stdout(), /more: cdc dlq list --from \d+/);
  const directReplay = startCli(['dlq', 'replay', '--config', pipeline.configPath]);
  assert.equal((await directReplay.exited).code, 0, directReplay.stderr());
  assert.match(directReplay.stdout(), /replay of dst done: 0 replayed/);

  // The replay progress in Kafka lost (as after a crash between the target commit and the offset commit):
  // every dead letter is read again and recognized by the position stored in the replica, none applied twice.
  await resetReplayProgress(pipeline.name, pipeline.topics.deadLetter, pipeline.replicaName);
  const reread = await replay(running);
  assert.deepEqual(
    { state: reread.state, replayed: reread.replayed, alreadyReplayed: reread.alreadyReplayed },
    { state: 'done', replayed: 0, alreadyReplayed: 3 },
  );
  assert.deepEqual(await replica.rows('ledger', 'n'), ['1,-5', '2,10'], 'the keyless row is there once');

  // The stream's own position was never moved by the replay, and the stream goes on.
  assert.equal(await stream(), streamBefore);
  await source.exec(`INSERT INTO ledger VALUES (3, 7)`);
  await waitFor(
    'the next change of the stream',
    async () => (await replica.rows('ledger', 'n')).length === 3,
    {
      timeoutMs: 60_000,
      intervalMs: 200,
    },
  );
  assert.deepEqual(await replica.rows('ledger', 'n'), await source.rows('ledger', 'n'));

  // A dead letter no event can be decoded from stops the replay before it, saying so.
  const garbage = await appendUndecodable(pipeline.topics.deadLetter, pipeline.replicaName);
  const undecodable = await replay(running);
  assert.equal(undecodable.state, 'failed');
  assert.match(undecodable.error ?? '', /cannot be replayed: no change event can be decoded/);
  assert.equal(undecodable.next, garbage);
}

test('PostgreSQL replica: dead letters listed with reasons, replayed after the fix in order, each exactly once', () =>
  redrive('postgres'));

test('MariaDB replica: dead letters listed with reasons, replayed after the fix in order, each exactly once', () =>
  redrive('mariadb'));

const kafka = new Kafka({ brokers: stack.kafkaBrokers, clientId: 'test-dlq', logLevel: logLevel.NOTHING });

async function resetReplayProgress(prefix: string, topic: string, replica: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.setOffsets({
      groupId: replayGroup(prefix, replica),
      topic,
      partitions: [{ partition: 0, offset: '0' }],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Writes a record that holds no change event to the dead-letter topic; returns its offset. */
async function appendUndecodable(topic: string, replica: string): Promise<string> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [written] = await producer.send({
      topic,
      messages: [
        { value: 'not an event', headers: { 'cdc.dlq.replica': replica, 'cdc.dlq.reason': 'test' } },
      ],
    });
    return written!.baseOffset!;
  } finally {
    await producer.disconnect();
  }
}
