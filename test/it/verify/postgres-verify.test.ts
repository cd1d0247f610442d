import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../services/verify/open-reader.ts';
import type { TableReader } from '../../../services/verify/types.ts';
import { verifyTable } from '../../../services/verify/verify-table.ts';
import { CdcError } from '../../../common/errors.ts';
import { createDatabase, type TestDatabase } from './harness.ts';

const TYPES_TABLE = `
  CREATE TABLE typed (
    id bigint PRIMARY KEY, i integer, small smallint, big bigint, d numeric(12,4), txt text, vc varchar(40),
    ch character(5), ts timestamp(6), tstz timestamptz(6), flag boolean, data bytea, doc jsonb, f4 real,
    f8 double precision, day date, nothing text, empty text, u uuid, tags text[]
  )`;

const TYPES_ROWS = `
  INSERT INTO typed VALUES
    (1, 42, -7, 9223372036854775807, 12.3400, 'héllo wörld 😀', 'Ünïcode', 'ab', '2024-02-29 12:34:56.123456',
     '2024-02-29 12:34:56.654321+00', true, '\\x00ff10', '{"b": [1, 2.50], "a": {"z": null, "y": "é"}}', 1.1, 0.1,
     '2024-01-01', NULL, '', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', ARRAY['x', NULL]),
    (2, -2147483648, 32767, -9223372036854775808, -0.5, 'a''b', '', 'x', '1970-01-01 00:00:00',
     '2000-01-01 05:00:00+05', false, '\\x', '[]', -3.25, 1e300, '1999-12-31', NULL, '', NULL, '{}'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

void describe('verify PostgreSQL → PostgreSQL', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let sourceReader: TableReader;
  let targetReader: TableReader;

  before(async () => {
    source = await createDatabase('verify_src');
    target = await createDatabase('verify_dst');
    sourceReader = await openReader(source.url, 'source');
    targetReader = await openReader(target.url, 'target');
  });
  after(async () => {
    await sourceReader.close();
    await targetReader.close();
    await source.drop();
    await target.drop();
  });

  async function onBoth(sql: string): Promise<void> {
    await source.query(sql);
    await target.query(sql);
  }

  void test('equal rows of every type report equal', async () => {
    await onBoth(TYPES_TABLE);
    await onBoth(TYPES_ROWS);
    const report = await verifyTable({ source: sourceReader, target: targetReader, table: 'public.typed' });
    assert.deepEqual(report.differingRanges, []);
    assert.equal(report.equal, true);
    assert.equal(report.sourceRows, 3);
    assert.equal(report.targetRows, 3);
    assert.deepEqual(report.columnsMissingOnTarget, []);
  });

  void test('NULL and the empty string differ, and so does a value changed in the last microsecond', async () => {
    await target.query(`UPDATE typed SET nothing = '' WHERE id = 1`);
    await target.query(`UPDATE typed SET ts = ts + interval '1 microsecond' WHERE id = 2`);
    try {
      const report = await verifyTable({ source: sourceReader, target: targetReader, table: 'public.typed' });
      assert.equal(report.equal, false);
      assert.deepEqual(
        report.differingRanges.flatMap((range) => range.differentRows),
        [{ id: '1' }, { id: '2' }],
      );
    } finally {
      await target.query(`UPDATE typed SET nothing = NULL WHERE id = 1`);
      await target.query(`UPDATE typed SET ts = ts - interval '1 microsecond' WHERE id = 2`);
    }
  });

  void test('a changed value, a missing row and extra rows are named with their key and range', async () => {
    await onBoth(`CREATE TABLE planted (id integer PRIMARY KEY, name text NOT NULL, amount numeric(10,2))`);
    await onBoth(`INSERT INTO planted SELECT g, 'name ' || g, g * 1.5 FROM generate_series(1, 1000) g`);
    await target.query(`UPDATE planted SET amount = amount + 0.01 WHERE id = 250`);
    await target.query(`DELETE FROM planted WHERE id = 501`);
    await target.query(`INSERT INTO planted VALUES (10000, 'after the end', 1), (-5, 'before the start', 1)`);

    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: 'public.planted',
      chunkRows: 100,
    });
    assert.equal(report.equal, false);
    // 10 full chunks of 100 rows, and the open-ended one after the last source key.
    assert.equal(report.chunks, 11);
    assert.equal(report.sourceRows, 1000);
    assert.equal(report.targetRows, 1001);
    const ranges = report.differingRanges.map((range) => ({
      from: range.from,
      to: range.to,
      missing: range.missingOnTarget,
      extra: range.extraOnTarget,
      different: range.differentRows,
    }));
    assert.deepEqual(ranges, [
      { from: null, to: { id: '100' }, missing: [], extra: [{ id: '-5' }], different: [] },
      { from: { id: '200' }, to: { id: '300' }, missing: [], extra: [], different: [{ id: '250' }] },
      { from: { id: '500' }, to: { id: '600' }, missing: [{ id: '501' }], extra: [], different: [] },
      { from: { id: '1000' }, to: null, missing: [], extra: [{ id: '10000' }], different: [] },
    ]);
    const middle = report.differingRanges[2];
    assert.equal(middle?.sourceRows, 100);
    assert.equal(middle?.targetRows, 99);
  });

  void test('a large table is compared in chunks', async () => {
    await onBoth(`CREATE TABLE large (id bigint PRIMARY KEY, payload text, at timestamptz(6))`);
    await onBoth(
      `INSERT INTO large SELECT g, md5(g::text), timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 second'
         FROM generate_series(1, 50000) g`,
    );
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: 'public.large',
      chunkRows: 5000,
    });
    assert.equal(report.equal, true);
    assert.equal(report.chunks, 11);
    assert.equal(report.sourceRows, 50_000);
    assert.equal(report.targetRows, 50_000);

    await target.query(`UPDATE large SET payload = 'changed' WHERE id = 33333`);
    const changed = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: 'public.large',
      chunkRows: 5000,
    });
    assert.equal(changed.differingRanges.length, 1);
    assert.deepEqual(changed.differingRanges[0]?.from, { id: '30000' });
    assert.deepEqual(changed.differingRanges[0]?.to, { id: '35000' });
    assert.deepEqual(changed.differingRanges[0]?.differentRows, [{ id: '33333' }]);
  });

  void test('recheck reads only the differing ranges again and converges once the replica catches up', async () => {
    await onBoth(`CREATE TABLE lagging (id integer PRIMARY KEY, v text)`);
    await onBoth(`INSERT INTO lagging SELECT g, 'v' || g FROM generate_series(1, 300) g`);
    await source.query(`UPDATE lagging SET v = 'new' WHERE id = 150`);
    const waits: number[] = [];
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: 'public.lagging',
      chunkRows: 100,
      recheck: {
        attempts: 3,
        untilEqual: true,
        // The "replica catching up" between the first pass and the recheck.
        wait: async (attempt) => {
          waits.push(attempt);
          if (attempt === 2) await target.query(`UPDATE lagging SET v = 'new' WHERE id = 150`);
        },
      },
    });
    assert.equal(report.equal, true);
    assert.equal(report.rechecks, 2);
    assert.deepEqual(waits, [1, 2]);
  });

  void test('recheck reports what is still different after the last attempt', async () => {
    await source.query(`UPDATE lagging SET v = 'newer' WHERE id = 10`);
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: 'public.lagging',
      chunkRows: 100,
      recheck: { attempts: 2, wait: async () => {} },
    });
    assert.equal(report.equal, false);
    assert.equal(report.rechecks, 2);
    assert.deepEqual(
      report.differingRanges.map((range) => range.differentRows),
      [[{ id: '10' }]],
    );
  });

  void test('a table without primary key, or missing on the replica, is refused with its name', async () => {
    await source.query(`CREATE TABLE keyless (v text)`);
    await source.query(`CREATE TABLE only_source (id int PRIMARY KEY)`);
    await assert.rejects(
      verifyTable({ source: sourceReader, target: targetReader, table: 'public.keyless' }),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'VERIFY_TABLE_INVALID' &&
        /public\.keyless has no primary key/.test(error.message),
    );
    await assert.rejects(
      verifyTable({ source: sourceReader, target: targetReader, table: 'public.only_source' }),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'VERIFY_TABLE_INVALID' &&
        /public\.only_source does not exist on the replica/.test(error.message),
    );
  });
});
