/**
 * RowWriter's multi-row inserts against a recording target connection: statements go out in order, the next one
 * is handed to the driver while the one before still runs, the first failure is the one thrown, and nothing of
 * the group is still running once insert() returned or threw. (A connection whose answers the test holds back:
 * the timing of a real target cannot be arranged; test/it/apply covers real targets.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowWriter } from '../../../services/apply/row-writer.ts';
import { MissingRows } from '../../../services/apply/missing-rows.ts';
import { PostgresDialect } from '../../../services/apply/postgres/postgres-dialect.ts';
import type {
  RunResult,
  Statement,
  TableShape,
  TargetConnection,
} from '../../../services/apply/sql-dialect.ts';
import { silentLogger } from '../../../common/logger.ts';
import { column, pgTable, transaction } from './events.ts';

const table = pgTable(
  'public',
  'items',
  [column('id', 'int4', { kind: 'int32' }), column('note', 'text')],
  ['id'],
);
const shape: TableShape = { sql: '"public"."items"', table, epoch: 1 };
const syntax = new PostgresDialect({ url: 'postgres://apply@127.0.0.1/replica' }, silentLogger).syntax;

/** Holds each statement's answer until the test settles it; records what was sent and what is still running. */
class HeldConnection implements TargetConnection {
  readonly broken = false;
  readonly sent: Statement[] = [];
  readonly answers: PromiseWithResolvers<RunResult>[] = [];
  running = 0;

  run(statement: Statement): Promise<RunResult> {
    this.sent.push(statement);
    this.running++;
    const answer = Promise.withResolvers<RunResult>();
    this.answers.push(answer);
    return answer.promise.finally(() => this.running--);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const inserts = (count: number) =>
  transaction(
    16n,
    Array.from({ length: count }, (_, i) => ({
      op: 'c' as const,
      table,
      after: { id: i + 1, note: `n${i}` },
    })),
  );

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('the next insert statement goes to the driver while the one before still runs, in order', async () => {
  const connection = new HeldConnection();
  const writer = new RowWriter(syntax, new MissingRows());
  const done = writer.insert(connection, shape, inserts(2_500));
  await turn();
  // 1,000 rows a statement: the second is queued before the first answered, the third waits for the first.
  assert.equal(connection.sent.length, 2);
  connection.answers[0]!.resolve({ rows: [], count: 1_000 });
  await turn();
  assert.equal(connection.sent.length, 3);
  connection.answers[1]!.resolve({ rows: [], count: 1_000 });
  connection.answers[2]!.resolve({ rows: [], count: 500 });
  await done;
  const firstIds = connection.sent.map((statement) => statement.values[0]);
  assert.deepEqual(firstIds.map(String), ['1', '1001', '2001']);
  assert.equal(connection.running, 0);
});

test('a failing statement is the error thrown, after the statement queued behind it settled', async () => {
  const connection = new HeldConnection();
  const writer = new RowWriter(syntax, new MissingRows());
  const done = writer.insert(connection, shape, inserts(2_500));
  const outcome = done.then(
    () => null,
    (error: unknown) => error,
  );
  await turn();
  connection.answers[0]!.resolve({ rows: [], count: 1_000 });
  await turn();
  connection.answers[1]!.reject(new Error('duplicate key in the second statement'));
  await turn();
  // The third one, queued behind the failed one, has not answered yet: insert() has not settled either.
  let settled = false;
  void outcome.then(() => (settled = true));
  await turn();
  assert.equal(settled, false, 'insert() waits for the statement still running');
  connection.answers[2]!.reject(new Error('current transaction is aborted'));
  const error = await outcome;
  assert.match(String(error), /duplicate key in the second statement/);
  assert.equal(connection.running, 0);
  assert.equal(connection.sent.length, 3);
});

const changes = () =>
  transaction(32n, [
    { op: 'u', table, before: { id: 1 }, after: { id: 1, note: 'one' } },
    { op: 'd', table, before: { id: 2 } },
    { op: 'c', table, after: { id: 3, note: 'three' } },
    { op: 'u', table, before: { id: 4 }, after: { id: 4, note: 'four' } },
  ]).map((event) => ({ shape, events: [event] }));

test('a window of single-statement changes is handed over whole before the first answer', async () => {
  const connection = new HeldConnection();
  const writer = new RowWriter(syntax, new MissingRows());
  const done = writer.writeEach(connection, changes());
  await turn();
  assert.deepEqual(
    connection.sent.map((statement) => statement.text.split(' ')[0]),
    ['UPDATE', 'DELETE', 'INSERT', 'UPDATE'],
  );
  connection.answers[0]!.resolve({ rows: [], count: 1 });
  connection.answers[1]!.resolve({ rows: [], count: 0 });
  connection.answers[2]!.resolve({ rows: [], count: 1 });
  connection.answers[3]!.resolve({ rows: [], count: 1 });
  assert.deepEqual(await done, { kind: 'done' });
});

test('in a window, an update that found no row is reported as missed, and the first failure wins over later ones', async () => {
  const writer = new RowWriter(syntax, new MissingRows());
  const missed = new HeldConnection();
  const first = writer.writeEach(missed, changes());
  await turn();
  for (const [index, answer] of missed.answers.entries())
    answer.resolve({ rows: [], count: index === 3 ? 0 : 1 });
  assert.deepEqual(await first, { kind: 'missed' });

  const failing = new HeldConnection();
  const second = writer.writeEach(failing, changes());
  await turn();
  failing.answers[0]!.resolve({ rows: [], count: 1 });
  failing.answers[1]!.reject(new Error('deadlock detected'));
  failing.answers[2]!.reject(new Error('current transaction is aborted'));
  failing.answers[3]!.reject(new Error('current transaction is aborted'));
  const outcome = await second;
  assert.equal(outcome.kind, 'failed');
  assert.equal(outcome.kind === 'failed' && outcome.index, 1);
  assert.match(String(outcome.kind === 'failed' && outcome.error), /deadlock detected/);
  assert.equal(failing.running, 0);
});

test('a window takes consecutive inserts of a table as one multi-row statement, and ends before a group too large for one', async () => {
  const writer = new RowWriter(syntax, new MissingRows());
  const events = transaction(48n, [
    { op: 'u', table, before: { id: 1 }, after: { id: 1, note: 'one' } },
    { op: 'c', table, after: { id: 2, note: 'two' } },
    { op: 'c', table, after: { id: 3, note: 'three' } },
    { op: 'd', table, before: { id: 1 } },
    ...Array.from({ length: 1_001 }, (_, i) => ({
      op: 'c' as const,
      table,
      after: { id: 10 + i, note: `n${i}` },
    })),
  ]);
  const window = writer.window(events, 0, shape, () => shape);
  assert.deepEqual(
    window.map((write) => write.events.length),
    [1, 2, 1],
    'the update, both inserts together, the delete; the 1,001 inserts (over 1,000 rows a statement) are left',
  );
  assert.deepEqual(
    writer.window(events, 4, shape, () => shape),
    [],
  );

  const connection = new HeldConnection();
  const done = writer.writeEach(connection, window);
  await turn();
  assert.deepEqual(
    connection.sent.map((statement) => statement.text.split(' ')[0]),
    ['UPDATE', 'INSERT', 'DELETE'],
  );
  assert.deepEqual(connection.sent[1]!.values.length, 4, 'two rows of two columns in one insert');
  for (const answer of connection.answers) answer.resolve({ rows: [], count: 1 });
  assert.deepEqual(await done, { kind: 'done' });
});
