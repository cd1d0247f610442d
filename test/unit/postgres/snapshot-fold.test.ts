import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { foldChunk } from '../../../connectors/postgres/snapshot/chunk-fold.ts';
import { foldKeyless } from '../../../connectors/postgres/snapshot/keyless-fold.ts';
import { WatermarkWindows } from '../../../connectors/postgres/snapshot/watermark-windows.ts';
import { parseXidSnapshot, sawTransaction } from '../../../connectors/postgres/snapshot/xid-snapshot.ts';
import type { PgTable } from '../../../connectors/postgres/types/catalog.ts';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../../../schemas/positions/lsn.ts';

const accounts: TableSchema = {
  database: 'db',
  schema: 'public',
  table: 'accounts',
  dialect: 'postgres',
  columns: [
    { name: 'id', type: { kind: 'int32' }, sourceType: 'int4', nullable: false },
    { name: 'balance', type: { kind: 'int32' }, sourceType: 'int4', nullable: false },
    { name: 'doc', type: { kind: 'string' }, sourceType: 'text', nullable: true },
  ],
  key: ['id'],
  beforeImage: 'key',
};
const keyless: TableSchema = { ...accounts, key: [] };

let lsn = 100n;

/** One streamed event in a transaction of its own, with a numeric xid as the stream carries it. */
function change(
  xid: number,
  fields: Pick<ChangeEvent, 'op' | 'before' | 'after'> & { unchanged?: string[] },
  table = accounts,
): ChangeEvent {
  lsn += 8n;
  const base = {
    table,
    transaction: { id: String(xid), index: 0, total: 1 },
    source: {
      connector: 't',
      position: { commit: { kind: 'pg' as const, lsn: lsnFromBigInt(lsn) }, index: 0 },
      txId: String(xid),
      commitTimeMicros: 1n,
      origin: null,
      snapshot: false,
    },
  };
  switch (fields.op) {
    case 'c':
      return { ...base, op: 'c', before: null, after: fields.after ?? {} };
    case 'u':
      return {
        ...base,
        op: 'u',
        before: fields.before,
        after: fields.after ?? {},
        unchanged: fields.unchanged ?? [],
      };
    case 'd':
      return { ...base, op: 'd', before: fields.before ?? {}, after: null };
    case 'r':
    case 't':
      return { ...base, op: 't', before: null, after: null };
  }
}

const insert = (xid: number, after: Row): ChangeEvent => change(xid, { op: 'c', before: null, after });
const update = (xid: number, after: Row, options: { before?: Row; unchanged?: string[] } = {}): ChangeEvent =>
  change(xid, { op: 'u', before: options.before ?? null, after, unchanged: options.unchanged ?? [] });
const remove = (xid: number, id: number): ChangeEvent =>
  change(xid, { op: 'd', before: { id }, after: null });

const chunk: Row[] = [
  { id: 1, balance: 10, doc: 'long one' },
  { id: 2, balance: 20, doc: 'long two' },
  { id: 3, balance: 30, doc: 'long three' },
];

describe('folding a snapshot chunk with its window', () => {
  test('an update that left the TOASTed column unchanged keeps the chunk row whole', () => {
    const rows = foldChunk(accounts, chunk, [update(7, { id: 2, balance: 21 }, { unchanged: ['doc'] })]);
    assert.deepEqual(rows, [chunk[0], { id: 2, balance: 21, doc: 'long two' }, chunk[2]]);
  });

  test('changes apply in stream order: delete drops the row, a re-insert brings the new one', () => {
    const rows = foldChunk(accounts, chunk, [
      remove(7, 1),
      remove(8, 3),
      insert(9, { id: 3, balance: 0, doc: 'new three' }),
      update(10, { id: 3, balance: 5 }, { unchanged: ['doc'] }),
    ]);
    assert.deepEqual(rows, [chunk[1], { id: 3, balance: 5, doc: 'new three' }]);
  });

  test('a change the chunk already saw folds to the same row (values are absolute)', () => {
    const seen: Row[] = [{ id: 1, balance: 11, doc: 'changed' }];
    assert.deepEqual(foldChunk(accounts, seen, [update(7, { id: 1, balance: 11, doc: 'changed' })]), seen);
  });

  test('a key change moves the row, unchanged columns included', () => {
    const rows = foldChunk(accounts, chunk, [
      update(7, { id: 9, balance: 10 }, { before: { id: 1 }, unchanged: ['doc'] }),
    ]);
    assert.deepEqual(rows, [chunk[1], chunk[2], { id: 9, balance: 10, doc: 'long one' }]);
  });

  test('keys the chunk did not read are left to the stream', () => {
    const rows = foldChunk(accounts, chunk, [
      insert(7, { id: 50, balance: 1, doc: 'x' }),
      update(8, { id: 60, balance: 2 }, { unchanged: ['doc'] }),
      remove(9, 70),
    ]);
    assert.deepEqual(rows, chunk);
  });

  test('the first chunk of a re-snapshot adopts keys it did not read when an event carries them whole', () => {
    // Its truncate goes out at HIGH, after these events: what they wrote must come back with the chunk.
    const rows = foldChunk(
      accounts,
      chunk,
      [
        insert(7, { id: 50, balance: 1, doc: 'x' }),
        update(8, { id: 60, balance: 2 }, { unchanged: ['doc'] }),
        update(9, { id: 61, balance: 3, doc: 'whole' }),
        insert(10, { id: 70, balance: 4, doc: 'y' }),
        remove(11, 70),
      ],
      true,
    );
    assert.deepEqual(rows, [
      ...chunk,
      { id: 50, balance: 1, doc: 'x' },
      { id: 61, balance: 3, doc: 'whole' },
    ]);
  });

  test('a row moved onto a deleted key of the chunk is kept only when the event carries it whole', () => {
    const whole = foldChunk(accounts, chunk, [
      remove(7, 2),
      update(8, { id: 2, balance: 5, doc: 'moved' }, { before: { id: 80 } }),
    ]);
    assert.deepEqual(whole, [chunk[0], { id: 2, balance: 5, doc: 'moved' }, chunk[2]]);
    const partial = foldChunk(accounts, chunk, [
      remove(7, 2),
      update(8, { id: 2, balance: 5 }, { before: { id: 80 }, unchanged: ['doc'] }),
    ]);
    assert.deepEqual(partial, [chunk[0], chunk[2]]);
  });

  test('a truncate, or any change of a table without a key, makes the chunk read again', () => {
    assert.equal(foldChunk(accounts, chunk, [change(7, { op: 't', before: null, after: null })]), null);
    assert.equal(foldChunk(keyless, chunk, [insert(7, { id: 4, balance: 0, doc: null })]), null);
    assert.deepEqual(foldChunk(keyless, chunk, []), chunk);
  });
});

describe('folding the one chunk of a table without a key', () => {
  const twice: Row[] = [
    { id: 1, balance: 10, doc: null },
    { id: 1, balance: 10, doc: null },
    { id: 2, balance: 20, doc: 'long two' },
  ];
  const deleteRow = (xid: number, before: Row): ChangeEvent =>
    change(xid, { op: 'd', before, after: null }, keyless);

  test('rows are a multiset: an insert adds one, a delete removes one of two equal rows', () => {
    const rows = foldKeyless(keyless, twice, [
      change(7, { op: 'c', before: null, after: { id: 1, balance: 10, doc: null } }, keyless),
      deleteRow(8, { id: 1, balance: 10, doc: null }),
      deleteRow(9, { id: 1, balance: 10, doc: null }),
    ]);
    assert.deepEqual(rows, [twice[0], twice[2]]);
  });

  test('an update replaces one equal row; unchanged TOAST keeps the old value', () => {
    const rows = foldKeyless(keyless, twice, [
      change(
        7,
        { op: 'u', before: twice[2] ?? {}, after: { id: 2, balance: 21 }, unchanged: ['doc'] },
        keyless,
      ),
    ]);
    assert.deepEqual(rows, [twice[0], twice[1], { id: 2, balance: 21, doc: 'long two' }]);
  });

  test('a truncate empties the rows; a change matching no row makes the chunk read again', () => {
    assert.deepEqual(
      foldKeyless(keyless, twice, [change(7, { op: 't', before: null, after: null }, keyless)]),
      [],
    );
    assert.equal(foldKeyless(keyless, twice, [deleteRow(7, { id: 9, balance: 0, doc: null })]), null);
    assert.equal(
      foldKeyless(keyless, twice, [
        change(7, { op: 'u', before: null, after: { id: 1, balance: 1, doc: null } }, keyless),
      ]),
      null,
    );
  });

  test('the window folds only changes the chunk did not see, and the chunk replaces the table', async () => {
    const windows = new WatermarkWindows();
    const table: PgTable = { oid: 43, schema: keyless, identity: 'full', hasPrimaryKey: false };
    const outcome = windows.prepare('k1', table);
    // 400 committed before the chunk's snapshot (it holds the row already); 405 after it.
    windows.observe(
      43,
      change(400, { op: 'c', before: null, after: { id: 3, balance: 30, doc: null } }, keyless),
    );
    windows.low('k1');
    windows.observe(
      43,
      change(405, { op: 'c', before: null, after: { id: 3, balance: 30, doc: null } }, keyless),
    );
    const read = [...twice, { id: 3, balance: 30, doc: null }];
    windows.setRows('k1', { rows: read, snapshot: parseXidSnapshot('400:405:'), state: {} });
    windows.observe(43, deleteRow(406, { id: 2, balance: 20, doc: 'long two' }));
    const closed = windows.high('k1');
    const rows = [twice[0], twice[1], read[3], read[3]];
    assert.deepEqual(closed, { table, rows, state: {}, retry: false, replacesTable: true });
    assert.deepEqual(await outcome, { kind: 'rows', rows });
  });

  test('a change streamed before the chunk began but invisible to its snapshot is not lost with the truncate', () => {
    const windows = new WatermarkWindows();
    const table: PgTable = { oid: 44, schema: keyless, identity: 'full', hasPrimaryKey: false };
    const late = { id: 5, balance: 50, doc: null };
    windows.remember(true);
    // Committed and sent before prepare(), yet still in progress for the chunk's snapshot.
    windows.observe(44, change(500, { op: 'c', before: null, after: late }, keyless));
    void windows.prepare('k2', table);
    windows.low('k2');
    windows.setRows('k2', { rows: twice, snapshot: parseXidSnapshot('499:501:500'), state: {} });
    assert.deepEqual(windows.high('k2')?.rows, [twice[0], twice[1], twice[2], late]);
  });
});

describe('chunk snapshot visibility', () => {
  test('a transaction is seen when it precedes xmax and is not in progress', () => {
    const snapshot = parseXidSnapshot('100:105:100,103');
    assert.equal(sawTransaction(snapshot, '99'), true);
    assert.equal(sawTransaction(snapshot, '101'), true);
    assert.equal(sawTransaction(snapshot, '100'), false);
    assert.equal(sawTransaction(snapshot, '103'), false);
    // At or past xmax: committed (its commit record may be in the WAL) but not finished when the snapshot was taken.
    assert.equal(sawTransaction(snapshot, '105'), false);
    assert.equal(sawTransaction(snapshot, '106'), false);
  });

  test('64-bit snapshot xids compare with the stream 32-bit xids across an epoch', () => {
    const epoch = 1n << 32n;
    const snapshot = parseXidSnapshot(`${epoch - 10n}:${epoch + 5n}:${epoch + 1n}`);
    assert.equal(sawTransaction(snapshot, String(2 ** 32 - 3)), true);
    assert.equal(sawTransaction(snapshot, '3'), true);
    assert.equal(sawTransaction(snapshot, '1'), false);
    assert.equal(sawTransaction(snapshot, '5'), false);
  });

  test('an unreadable snapshot is an error naming it', () => {
    assert.throws(() => parseXidSnapshot('garbage'), /garbage/);
  });
});

describe('watermark windows', () => {
  const table: PgTable = { oid: 42, schema: accounts, identity: 'default', hasPrimaryKey: true };
  const state = { next: 'chunk' };

  test('a delete committed before LOW but invisible to the chunk snapshot removes the row read', async () => {
    const windows = new WatermarkWindows();
    const outcome = windows.prepare('c1', table);
    const seenDelete = remove(200, 1);
    const unseenDelete = remove(205, 2);
    windows.observe(42, seenDelete);
    windows.observe(42, unseenDelete);
    windows.low('c1');
    // The chunk still has row 2 (and row 1, to show a seen change is not applied to a row it re-read).
    windows.setRows('c1', { rows: chunk, snapshot: parseXidSnapshot('200:205:'), state });
    windows.observe(42, update(206, { id: 3, balance: 31 }, { unchanged: ['doc'] }));
    windows.observe(42, update(206, { id: 3, balance: 31 }, { unchanged: ['doc'] }));
    const closed = windows.high('c1');
    const rows = [chunk[0], { id: 3, balance: 31, doc: 'long three' }];
    assert.deepEqual(closed, { table, rows, state, retry: false, replacesTable: false });
    assert.deepEqual(await outcome, { kind: 'rows', rows });
    assert.equal(windows.openCount, 0);
  });

  test('an update streamed before the chunk began but invisible to its snapshot is folded in', () => {
    const windows = new WatermarkWindows();
    windows.remember(true);
    // Seen by the chunk: nothing to fold. Not yet visible to it (a stalled backend): folded.
    windows.observe(42, update(210, { id: 1, balance: 11, doc: 'long one' }));
    windows.observe(42, update(212, { id: 2, balance: 22, doc: 'long two' }));
    void windows.prepare('c5', table);
    windows.low('c5');
    windows.setRows('c5', { rows: chunk, snapshot: parseXidSnapshot('211:213:212'), state });
    assert.deepEqual(windows.high('c5')?.rows, [chunk[0], { id: 2, balance: 22, doc: 'long two' }, chunk[2]]);
    windows.remember(false);
    windows.observe(42, update(214, { id: 3, balance: 33, doc: null }));
    void windows.prepare('c6', table);
    windows.low('c6');
    windows.setRows('c6', { rows: chunk, snapshot: parseXidSnapshot('214:215:214'), state });
    assert.deepEqual(windows.high('c6')?.rows, chunk, 'nothing is remembered once the snapshot ended');
  });

  test('an event sent again after a reconnect is folded once', () => {
    const windows = new WatermarkWindows();
    void windows.prepare('c2', table);
    windows.low('c2');
    windows.setRows('c2', { rows: chunk, snapshot: parseXidSnapshot('300:300:'), state });
    const event = insert(301, { id: 1, balance: 1, doc: 'again' });
    windows.observe(42, remove(300, 1));
    windows.observe(42, event);
    windows.observe(42, remove(302, 1));
    windows.observe(42, event);
    assert.deepEqual(windows.high('c2')?.rows, [chunk[1], chunk[2]]);
  });

  test('HIGH without LOW in the stream, or a change that cannot be matched, retries the chunk', async () => {
    const windows = new WatermarkWindows();
    const noLow = windows.prepare('c3', table);
    windows.setRows('c3', { rows: chunk, snapshot: parseXidSnapshot('1:1:'), state });
    assert.equal(windows.high('c3')?.retry, true);
    assert.deepEqual(await noLow, { kind: 'retry' });
    const truncated = windows.prepare('c4', table);
    windows.low('c4');
    windows.observe(42, change(9, { op: 't', before: null, after: null }));
    windows.setRows('c4', { rows: chunk, snapshot: parseXidSnapshot('1:1:'), state });
    assert.equal(windows.high('c4')?.retry, true);
    assert.deepEqual(await truncated, { kind: 'retry' });
    assert.equal(windows.high('unknown'), null);
  });
});
