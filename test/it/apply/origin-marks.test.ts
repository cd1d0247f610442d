/**
 * The PostgreSQL sink with marker-row origin marking (services/apply/origin-marks.ts), read back through logical
 * decoding (test_decoding): in every target transaction that writes rows, the first change is the upsert of the
 * link's row of cdc_apply.origin_marks, which then holds one row carrying the last source transaction's commit
 * position and time; no replication origin is set up. Conflict handling is refused with it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CdcError } from '../../../common/errors.ts';
import { PostgresSink } from '../../../services/apply/postgres/postgres-sink.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { runWorker } from './contract/run-worker.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

let db: TargetDatabase;
const slot = uniqueName('marks');

before(async () => {
  db = await createTargetDatabase();
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]);
});

after(async () => {
  await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
  await db.drop([]);
});

test('each target transaction begins with the link marker row, and no replication origin is used', async () => {
  const stream = uniqueName('s');
  const table = pgTable(
    'public',
    uniqueName('items'),
    [column('id', 'integer', { kind: 'int32' }, false), column('qty', 'integer', { kind: 'int32' })],
    ['id'],
  );
  const batches = [
    transaction(0x2000n, [
      { op: 'c', table, after: { id: 1, qty: 1 } },
      { op: 'c', table, after: { id: 2, qty: 2 } },
    ]),
    transaction(0x3000n, [{ op: 'u', table, before: { id: 1, qty: 1 }, after: { id: 1, qty: 5 } }]),
  ];
  await runWorker(new PostgresSink({ url: db.url, originMarking: 'marker-row' }), stream, batches);

  const changes = await db.query('SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)', [slot]);
  const transactions: string[][] = [];
  for (const row of changes) {
    const data = row.data ?? '';
    if (data.startsWith('BEGIN')) transactions.push([]);
    else if (!data.startsWith('COMMIT')) transactions.at(-1)?.push(data);
  }
  const writing = transactions.filter((lines) => lines.some((line) => line.includes(table.table)));
  assert.ok(writing.length > 0, 'the rows were written');
  for (const lines of writing)
    assert.match(
      lines[0] ?? '',
      new RegExp(`^table cdc_apply\\.origin_marks: (INSERT|UPDATE): marker\\[text\\]:'cdc_${stream}'`),
    );

  assert.deepEqual(
    await db.query(
      'SELECT marker, origin_node, origin_position, origin_commit_micros FROM cdc_apply.origin_marks',
    ),
    [
      {
        marker: `cdc_${stream}`,
        origin_node: stream,
        origin_position: 'pg:0/3000',
        origin_commit_micros: String(1_700_000_000_000_000n + 0x3000n),
      },
    ],
  );
  assert.deepEqual(
    await db.query('SELECT roname FROM pg_replication_origin WHERE roname = $1', [`cdc_${stream}`]),
    [],
  );
});

test('conflict handling is refused with marker rows', () => {
  assert.throws(
    () =>
      new PostgresSink({
        url: db.url,
        originMarking: 'marker-row',
        conflicts: {} as ConstructorParameters<typeof PostgresSink>[0]['conflicts'],
      }),
    (error: unknown) => error instanceof CdcError && error.code === 'CONFIG_INVALID',
  );
});
