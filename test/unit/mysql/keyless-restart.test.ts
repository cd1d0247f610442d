import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SnapshotOverlap,
  keylessCutShort,
  resumeAt,
} from '../../../connectors/mysql/snapshot/snapshot-overlap.ts';
import type { SnapshotState } from '../../../connectors/mysql/snapshot/snapshot-state.ts';
import type { KeyOrder } from '../../../connectors/mysql/types/key-order.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { parseGtid } from '../../../schemas/positions/gtid.ts';

const log: TableSchema = {
  database: 'db',
  schema: 'db',
  table: 'log',
  dialect: 'mysql',
  columns: [{ name: 'line', type: { kind: 'string' }, sourceType: 'varchar(40)', nullable: false }],
  key: [],
  beforeImage: 'full',
};
const items: TableSchema = { ...log, table: 'items', key: ['line'] };

/** Stopped 400 rows into `db.log`, a table without a key (an empty key, as states saved before held it). */
const cutShort: SnapshotState = {
  from: '0-1-10',
  seq: '0',
  tables: ['db.items', 'db.log'],
  tableIndex: 1,
  lastKey: [],
  tableRows: 400,
  eventIndex: 900,
  shape: 'line:varchar(40):NO:',
  done: false,
  resumes: [],
};

// Key order is asked of the server only to compare keys; a keyless table has none to compare.
const noKeyOrder = null as unknown as KeyOrder;

describe('a snapshot restarted inside a keyless table', () => {
  test('is recognized whether the state holds no key or an empty one, and keyed tables are not', () => {
    assert.equal(keylessCutShort(cutShort), true);
    assert.equal(keylessCutShort({ ...cutShort, lastKey: null }), true);
    assert.equal(keylessCutShort({ ...cutShort, lastKey: ['5'] }), false);
    assert.equal(keylessCutShort({ ...cutShort, tableRows: 0, lastKey: null }), false);
  });

  test('restarts at that table with no key: the whole table is read again after the restart point', () => {
    assert.deepEqual(resumeAt(cutShort, '0-1-20'), { at: '0-1-20', tableIndex: 1, lastKey: null });
  });

  test('drops the stream changes of that table up to the restart point, and keeps later ones', async () => {
    const restarted = { ...cutShort, resumes: [resumeAt(cutShort, '0-1-20')] };
    const overlap = SnapshotOverlap.of(restarted, 'mariadb', []);
    assert.ok(overlap);
    const row = { line: 'x' };
    assert.equal(await overlap.keep(parseGtid('mariadb', '0-1-15'), log, row, noKeyOrder), false);
    assert.equal(await overlap.keep(parseGtid('mariadb', '0-1-25'), log, row, noKeyOrder), true);
    // `items` was read whole before the restart, from the first snapshot: all of its changes stream.
    assert.equal(await overlap.keep(parseGtid('mariadb', '0-1-15'), items, row, noKeyOrder), true);
  });

  test('a restart point saved with an empty key also covers the whole table', async () => {
    const saved = { ...cutShort, resumes: [{ at: '0-1-20', tableIndex: 1, lastKey: [] }] };
    const overlap = SnapshotOverlap.of(saved, 'mariadb', []);
    assert.equal(await overlap?.keep(parseGtid('mariadb', '0-1-15'), log, { line: 'x' }, noKeyOrder), false);
  });
});
