import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../services/verify/open-reader.ts';
import type { TableReader } from '../../../services/verify/types.ts';
import { verifyTable } from '../../../services/verify/verify-table.ts';
import { createDatabase, createMariadbDatabase, type MariadbDatabase, type TestDatabase } from './harness.ts';

/**
 * Keys whose order differs between natural-language collations (MariaDB's utf8mb4_unicode_ci, ICU en-US)
 * and byte order, all distinct under a case- and accent-insensitive collation.
 */
const TEXT_KEYS = ['a', 'B', 'c', 'É', '_x', 'a b', 'ab', '😀', '-1', '10', '9', 'Z', 'y', 'ñ', 'Ω', 'z1'];

void describe('verify MariaDB → PostgreSQL', () => {
  let maria: MariadbDatabase;
  let replica: TestDatabase;
  let sourceReader: TableReader;
  let targetReader: TableReader;

  before(async () => {
    maria = await createMariadbDatabase('verify_maria');
    replica = await createDatabase('verify_pg');
    await replica.query(`CREATE SCHEMA "${maria.name}"`);
    sourceReader = await openReader(maria.url, 'source');
    targetReader = await openReader(replica.url, 'target');
  });
  after(async () => {
    await sourceReader.close();
    await targetReader.close();
    await maria.drop();
    await replica.drop();
  });

  void test('the same logical rows written in each dialect report equal', async () => {
    await maria.sql.query(`
      CREATE TABLE typed (
        id bigint PRIMARY KEY, i int, small smallint, big bigint, d decimal(12,4), txt text, vc varchar(40),
        ch char(5), ts datetime(6), tstz timestamp(6) NULL, flag tinyint(1), data varbinary(100), doc json,
        f4 float, f8 double, day date, nothing text, empty text, u uuid, ubig bigint unsigned
      )`);
    await maria.sql.query(`
      INSERT INTO typed VALUES
        (1, 42, -7, 9223372036854775807, 12.3400, 'héllo wörld 😀', 'Ünïcode', 'ab', '2024-02-29 12:34:56.123456',
         '2024-02-29 12:34:56.654321', 1, X'00ff10', '{"b": [1, 2.50], "a": {"z": null, "y": "é"}}', 1.1, 0.1,
         '2024-01-01', NULL, '', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 18446744073709551615),
        (2, -2147483648, 32767, -9223372036854775808, -0.5, 'a''b', '', 'x', '1970-01-01 00:00:00',
         '2000-01-01 00:00:00', 0, X'', '[]', -3.25, 1e300, '1999-12-31', NULL, '', NULL, 0),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await replica.query(`
      CREATE TABLE "${maria.name}".typed (
        id bigint PRIMARY KEY, i integer, small smallint, big bigint, d numeric(12,4), txt text,
        vc varchar(40), ch character(5), ts timestamp(6), tstz timestamptz(6), flag boolean, data bytea, doc jsonb,
        f4 real, f8 double precision, day date, nothing text, empty text, u uuid, ubig numeric(20,0)
      )`);
    await replica.query(`
      INSERT INTO "${maria.name}".typed VALUES
        (1, 42, -7, 9223372036854775807, 12.34, 'héllo wörld 😀', 'Ünïcode', 'ab', '2024-02-29 12:34:56.123456',
         '2024-02-29 13:34:56.654321+01', true, '\\x00ff10', '{"a": {"y": "é", "z": null}, "b": [1.0, 2.5]}', 1.1, 0.1,
         '2024-01-01', NULL, '', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 18446744073709551615),
        (2, -2147483648, 32767, -9223372036854775808, -0.50, 'a''b', '', 'x', '1970-01-01 00:00:00',
         '2000-01-01 00:00:00+00', false, '\\x', '[]', -3.25, 1e300, '1999-12-31', NULL, '', NULL, 0),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: `${maria.name}.typed`,
    });
    assert.deepEqual(report.differingRanges, []);
    assert.equal(report.equal, true);
    assert.equal(report.sourceRows, 3);
  });

  void test('a planted difference in one dialect is found with its key', async () => {
    await replica.query(`UPDATE "${maria.name}".typed SET flag = false, doc = '{"a": 1}' WHERE id = 1`);
    await replica.query(`DELETE FROM "${maria.name}".typed WHERE id = 3`);
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: `${maria.name}.typed`,
    });
    assert.equal(report.equal, false);
    assert.deepEqual(
      report.differingRanges.map((range) => range.differentRows),
      [[{ id: '1' }]],
    );
    assert.deepEqual(
      report.differingRanges.map((range) => range.missingOnTarget),
      [[{ id: '3' }]],
    );
  });

  void test('text keys are chunked in byte order on both sides, whatever the collations', async () => {
    await maria.sql.query(`CREATE TABLE words (w varchar(20) PRIMARY KEY, n int NOT NULL)`);
    await replica.query(
      `CREATE TABLE "${maria.name}".words (w varchar(20) COLLATE "en-US-x-icu" PRIMARY KEY, n integer NOT NULL)`,
    );
    for (const [index, word] of TEXT_KEYS.entries()) {
      await maria.sql.query(`INSERT INTO words VALUES (?, ?)`, [word, index]);
      await replica.query(`INSERT INTO "${maria.name}".words VALUES ($1, $2)`, [word, index]);
    }
    const equal = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: `${maria.name}.words`,
      chunkRows: 3,
    });
    assert.deepEqual(equal.differingRanges, []);
    assert.equal(equal.sourceRows, TEXT_KEYS.length);
    assert.equal(equal.chunks, Math.floor(TEXT_KEYS.length / 3) + 1);

    await replica.query(`DELETE FROM "${maria.name}".words WHERE w = 'É'`);
    await replica.query(`UPDATE "${maria.name}".words SET n = -1 WHERE w = 'z1'`);
    const planted = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: `${maria.name}.words`,
      chunkRows: 3,
    });
    assert.deepEqual(
      planted.differingRanges.flatMap((range) => range.missingOnTarget),
      [{ w: 'É' }],
    );
    assert.deepEqual(
      planted.differingRanges.flatMap((range) => range.differentRows),
      [{ w: 'z1' }],
    );
  });

  void test('a large table written in both dialects is equal in chunks', async () => {
    await maria.sql.query(`CREATE TABLE large (id int PRIMARY KEY, payload varchar(40), at datetime(6))`);
    await maria.sql.query(
      `INSERT INTO large SELECT seq, MD5(seq), TIMESTAMPADD(MICROSECOND, seq * 1000001, '2024-01-01 00:00:00') FROM seq_1_to_50000`,
    );
    await replica.query(
      `CREATE TABLE "${maria.name}".large (id integer PRIMARY KEY, payload text, at timestamp(6))`,
    );
    await replica.query(
      `INSERT INTO "${maria.name}".large SELECT g, md5(g::text), timestamp '2024-01-01 00:00:00' + g * interval '1.000001 second'
         FROM generate_series(1, 50000) g`,
    );
    const report = await verifyTable({
      source: sourceReader,
      target: targetReader,
      table: `${maria.name}.large`,
      chunkRows: 10_000,
    });
    assert.deepEqual(report.differingRanges, []);
    assert.equal(report.chunks, 6);
    assert.equal(report.sourceRows, 50_000);
    assert.equal(report.targetRows, 50_000);
  });

  void test('read the other way round, PostgreSQL → MariaDB finds the same differences mirrored', async () => {
    const pattern = [`${maria.name}.*`];
    const tables = await sourceReader.listTables(pattern);
    assert.deepEqual(tables, [`${maria.name}.large`, `${maria.name}.typed`, `${maria.name}.words`]);
    assert.deepEqual(await targetReader.listTables(pattern), tables);
    for (const table of tables) {
      // Small chunks put boundaries between the text keys; the large table keeps to a few dozen chunks.
      const chunkRows = table.endsWith('.large') ? 5_000 : 3;
      const forward = await verifyTable({ source: sourceReader, target: targetReader, table, chunkRows });
      const reverse = await verifyTable({ source: targetReader, target: sourceReader, table, chunkRows });
      const keys = (report: typeof forward, kind: 'missingOnTarget' | 'extraOnTarget' | 'differentRows') =>
        report.differingRanges.flatMap((range) => range[kind]);
      // The earlier tests left differences planted in typed and words.
      assert.equal(forward.equal, table.endsWith('.large'), table);
      assert.equal(reverse.equal, forward.equal, table);
      assert.equal(reverse.sourceRows, forward.targetRows, table);
      assert.equal(reverse.targetRows, forward.sourceRows, table);
      assert.deepEqual(keys(reverse, 'missingOnTarget'), keys(forward, 'extraOnTarget'), table);
      assert.deepEqual(keys(reverse, 'extraOnTarget'), keys(forward, 'missingOnTarget'), table);
      assert.deepEqual(keys(reverse, 'differentRows'), keys(forward, 'differentRows'), table);
    }
  });
});
