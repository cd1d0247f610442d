/**
 * The type matrix MariaDB → PostgreSQL → MariaDB, through Kafka with two pipelines: a MariaDB table holding
 * every MariaDB type replicated into PostgreSQL, and that PostgreSQL table replicated on into a second MariaDB
 * database. Rows come through both snapshots and both streams. Every value read back from the second MariaDB
 * equals the source's, except the differences docs/type-mapping.md lists, which are asserted exactly: JSON
 * normalized by jsonb, and zero dates, negative times and times past 24:00 dead-lettered by PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createTestPipeline, type TestPipeline } from '../../support/binlog-pipeline.ts';
import { readDeadLetters } from '../../support/dead-letters.ts';
import { createMariadbDatabase, type MariadbTestDatabase, type TextRow } from '../../support/mariadb.ts';
import { createDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const COLUMNS = `
  id int PRIMARY KEY,
  ti tinyint, ti_u tinyint unsigned, flag tinyint(1), si smallint, si_u smallint unsigned,
  mi mediumint, mi_u mediumint unsigned, i int, i_u int unsigned, bi bigint, bi_u bigint unsigned,
  dec65 decimal(65,30), f float, d double,
  day date, dt datetime(6), ts timestamp(6) NULL, tm time(6), yr year,
  ch char(10), vc varchar(100), tx text,
  bin binary(4), vb varbinary(20), bl blob,
  js json, en enum('small','large','x''y'), st set('a','b','c'), bt bit(10), uu uuid`;

const NAMES = [
  ...['id', 'ti', 'ti_u', 'flag', 'si', 'si_u', 'mi', 'mi_u', 'i', 'i_u', 'bi', 'bi_u', 'dec65', 'f', 'd'],
  ...['day', 'dt', 'ts', 'tm', 'yr', 'ch', 'vc', 'tx', 'bin', 'vb', 'bl', 'js', 'en', 'st', 'bt', 'uu'],
];

const MIN_ROW = `(1, -128, 0, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  '-99999999999999999999999999999999999.999999999999999999999999999999', -1.5, -2.2250738585072014e-308,
  '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '00:00:00.000000', 1901,
  '', '', '', X'00000000', X'', X'', '[]', 'small', '', b'0000000000', '00000000-0000-0000-0000-000000000000')`;

const MAX_ROW = `(2, 127, 255, 1, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,
  18446744073709551615, '99999999999999999999999999999999999.999999999999999999999999999999', 3.25,
  -1.7976931348623157e308, '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
  '23:59:59.999999', 2155, 'ab😀', 'héllo wörld 😀 ''"\\\\', 'line one\nline two 😀 ∑ ÿ', X'ff00ff00', X'00ff', X'deadbeef00',
  '{"b": [1, 2.50, null], "a": {"z": "é😀"}}', 'x''y', 'a,c', b'1010101010', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`;

const NULL_ROW = `(3${', NULL'.repeat(30)})`;

const STREAMED_ROWS = `(4, 1, 2, 1, 3, 4, 5, 6, 7, 8, -9, 9223372036854775808, '0.000000000000000000000000000001', 0.1, 0.1,
  '2024-02-29', '2024-02-29 12:34:56.000001', '2024-02-29 12:34:56.123456', '12:34:56.5', 2024,
  'x', 'ünïcödé', REPEAT('long text ', 5000), X'01', X'0a0b', REPEAT(X'ab', 70000 DIV 2),
  '{"n": 1e2, "s": "q\\\\"t"}', 'large', 'b', b'1', UUID()),
  (5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0', 0, 0, '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00.1', 2000,
  'a b ', ' lead', 'trail ', X'', X'00', X'00', '{}', 'small', 'a,b,c', b'0', 'ffffffff-ffff-ffff-ffff-ffffffffffff')`;

/** Rows PostgreSQL cannot hold; each is its own transaction, so each dead-letters alone. */
const REFUSED_ROWS: readonly { id: number; column: string; value: string }[] = [
  { id: 100, column: 'day', value: `'0000-00-00'` },
  { id: 101, column: 'dt', value: `'0000-00-00 00:00:00'` },
  { id: 102, column: 'tm', value: `'-01:02:03.000004'` },
  { id: 103, column: 'tm', value: `'838:59:59'` },
];

async function sourceRows(db: MariadbTestDatabase, table: string): Promise<TextRow[]> {
  return db.query(
    `SELECT ${NAMES.map((name) => `\`${name}\``).join(', ')} FROM \`${db.name}\`.\`${table}\` ORDER BY id`,
  );
}

let logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

async function run(pipeline: TestPipeline): Promise<RunningPipeline> {
  const running = await startPipeline(pipeline.config, logger, { api: false });
  cleanups.push(() => running.stop());
  return running;
}

test('every MariaDB type survives MariaDB → PostgreSQL → MariaDB, or differs exactly as documented', async (t) => {
  logger = logger.child({ test: 'type-round-trip' });
  const maria = await createMariadbDatabase('rt_src');
  cleanups.push(() => maria.drop());
  const pg = await createDatabase('rt_pg');
  cleanups.push(() => pg.drop());
  const back = await createMariadbDatabase('rt_back');
  cleanups.push(() => back.drop());

  await maria.query(`CREATE TABLE typed (${COLUMNS})`);
  await maria.query(`INSERT INTO typed VALUES ${MIN_ROW}, ${MAX_ROW}, ${NULL_ROW}`);

  const outbound = await createTestPipeline({
    prefix: 'rt-there',
    source: { kind: 'mariadb', url: maria.url },
    replica: { kind: 'postgres', url: pg.url },
    onError: 'dead-letter',
  });
  cleanups.push(() => outbound.cleanup());
  const toPg = await run(outbound);
  const pgCount = async () =>
    Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM "${maria.name}".typed`)).rows[0]?.n);
  await waitFor('the snapshot rows to reach PostgreSQL', async () => (await pgCount()) === 3, {
    timeoutMs: 120_000,
    intervalMs: 250,
  });

  const inbound = await createTestPipeline({
    prefix: 'rt-back',
    source: { kind: 'postgres', url: pg.url, tables: [`${maria.name}.typed`] },
    replica: { kind: 'mariadb', url: back.url },
    onError: 'stop',
  });
  cleanups.push(() => inbound.cleanup());
  const toMaria = await run(inbound);

  // Streamed on both hops: inserts, an update of every column, a delete.
  await maria.query(`INSERT INTO typed VALUES ${STREAMED_ROWS}`);
  await maria.query(
    `UPDATE typed SET ti = ti - 1, bi_u = bi_u - 1, dec65 = '-0.5', tx = CONCAT(tx, '✓'), js = '{"k": [true, false]}',
       st = 'b,c', bt = b'0000000001', dt = '1999-12-31 23:59:59.999999', ts = '1999-12-31 23:59:59.999999',
       bl = X'', uu = '11111111-2222-3333-4444-555555555555' WHERE id = 2`,
  );
  await maria.query(`INSERT INTO typed (id, vc) VALUES (6, 'to be deleted')`);
  await maria.query(`DELETE FROM typed WHERE id = 6`);
  for (const row of REFUSED_ROWS) {
    await maria.query(
      `SET SESSION sql_mode = ''; INSERT INTO typed (id, \`${row.column}\`) VALUES (${row.id}, ${row.value}); SET SESSION sql_mode = DEFAULT`,
    );
  }
  // The last change. Its arrival alone does not show that everything before it passed both hops: the way back
  // snapshots the rows PostgreSQL already held while it streams, and a streamed row may land before a
  // snapshot chunk. So the wait is for every row, then for the values to settle (the update of row 2).
  await maria.query(`INSERT INTO typed (id, vc) VALUES (7, 'last')`);

  const expected = (await sourceRows(maria, 'typed')).filter((row) => Number(row.id) < 100);
  const expectedIds = expected.map((row) => row.id).join(',');
  let seen: TextRow[] = [];
  await waitFor(
    'the second MariaDB database to hold every row of the first',
    async () => {
      seen = await sourceRows(back, 'typed').catch(() => []);
      const ids = seen.filter((row) => Number(row.id) < 100).map((row) => row.id);
      return (
        ids.join(',') === expectedIds &&
        seen.find((row) => row.id === '2')?.uu === expected.find((row) => row.id === '2')?.uu
      );
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  assert.equal(toMaria.workers()[0]?.deadLetters, 0, 'nothing dead-lettered on the way back');

  // Documented difference: jsonb normalizes spacing and key order, and the way back keeps jsonb's text.
  const jsonb = await pg.query<{ id: string; js: string | null }>(
    `SELECT id::text AS id, js::text AS js FROM "${maria.name}".typed ORDER BY id`,
  );
  const jsonbById = new Map(jsonb.rows.map((row) => [row.id, row.js]));
  assert.equal(jsonbById.get('2'), '{"k": [true, false]}');
  assert.equal(jsonbById.get('4'), '{"n": 100, "s": "q\\"t"}');
  const expectedBack: TextRow[] = expected.map((row) => ({
    ...row,
    js: jsonbById.get(row.id ?? '') ?? null,
  }));

  for (const [index, row] of expectedBack.entries()) {
    const actual = seen[index];
    for (const name of NAMES) {
      assert.equal(
        actual?.[name],
        row[name],
        `row ${row.id} column ${name} after MariaDB → PostgreSQL → MariaDB`,
      );
    }
  }
  assert.equal(seen.length, expectedBack.length, 'the same rows, none extra');

  // Documented difference: values PostgreSQL has no form for are dead-lettered, with the reason, not altered.
  const refused = await pg.query(`SELECT id FROM "${maria.name}".typed WHERE id >= 100`);
  assert.equal(refused.rowCount, 0, 'no refused row reached PostgreSQL');
  assert.equal(toPg.workers()[0]?.deadLetters, REFUSED_ROWS.length);
  const letters = await readDeadLetters(outbound.topics.deadLetter, REFUSED_ROWS.length);
  for (const [index, letter] of letters.entries()) {
    t.diagnostic(`dead letter ${index}: ${letter.reason}`);
    assert.equal(letter.table, `${maria.name}.typed`);
    assert.equal(letter.op, 'c');
    assert.ok(
      letter.reason.includes(`(column ${REFUSED_ROWS[index]!.column})`),
      `the reason names the column: ${letter.reason}`,
    );
  }
});
