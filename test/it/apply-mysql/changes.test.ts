/**
 * What only MariaDB needs checked beyond the sink contract (test/it/apply/contract): values it cannot hold,
 * schema evolution with its own types, and quoted identifiers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { column, pgTable, transaction } from '../../unit/apply/events.ts';
import { applyBatches, createTargetDatabase, mariadbConnection, type TargetDatabase } from './harness.ts';
import { positionRow } from '../../../services/apply/position-rows.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop();
});

void describe('MariaDB apply', () => {
  void test('values MariaDB cannot hold and conflicting rows go to dead letters naming column, value and position; the rest applies', async () => {
    const stream = `${db.name}_dead`;
    const table = pgTable(
      'public',
      'dead',
      [
        column('id', 'bigint', { kind: 'int64' }, false),
        column('at', 'timestamp with time zone', { kind: 'timestamptz' }),
        column('amount', 'numeric', { kind: 'decimal' }),
        column('day', 'date', { kind: 'date' }),
      ],
      ['id'],
    );
    const run = await applyBatches(
      stream,
      [
        [
          ...transaction(10n, [
            { op: 'c', table, after: { id: 1n, at: 'infinity', amount: '1', day: null } },
          ]),
          ...transaction(20n, [{ op: 'c', table, after: { id: 2n, at: null, amount: 'NaN', day: null } }]),
          ...transaction(30n, [
            { op: 'c', table, after: { id: 3n, at: null, amount: '2.5', day: '0044-03-15 BC' } },
          ]),
          ...transaction(40n, [
            {
              op: 'c',
              table,
              after: { id: 4n, at: '2024-01-01 00:00:00+00', amount: '3', day: '2024-01-01' },
            },
          ]),
          ...transaction(50n, [{ op: 'c', table, after: { id: 4n, at: null, amount: '4', day: null } }]),
        ],
      ],
      { targetDatabase: db.name },
    );
    assert.equal(run.error, null);
    const reasons = run.deadLetters.letters.map((letter) => letter.reason);
    assert.equal(reasons.length, 4, reasons.join('\n'));
    assert.match(reasons[0]!, /"infinity" of column "at".*no infinite dates/);
    assert.match(reasons[1]!, /"NaN" of column "amount".*no NaN/);
    assert.match(reasons[2]!, /"0044-03-15 BC" of column "day".*before year 1/);
    assert.match(reasons[3]!, /insert at pg:0\/32#0 .*Duplicate entry '4'/);
    assert.deepEqual(await db.rows(`SELECT id, at, amount FROM \`${db.name}\`.\`dead\``), [
      { id: '4', at: '2024-01-01 00:00:00.000000', amount: '3.000000000000000000000000000000' },
    ]);
    const [position] = await db.rows('SELECT position FROM `cdc_apply`.`applied_position` WHERE stream = ?', [
      positionRow(stream, db.name),
    ]);
    assert.equal(position?.position, 'pg:0/32#0', 'the position moves past dead-lettered events');
  });

  void test('a position stored under the bare stream name before positions were scoped by database is adopted, not replayed', async () => {
    const stream = `${db.name}_legacy`;
    const table = pgTable('public', 'legacy', [column('id', 'bigint', { kind: 'int64' }, false)], ['id']);
    const changes = [10n, 20n, 30n].map((lsn) => transaction(lsn, [{ op: 'c', table, after: { id: lsn } }]));
    // A first run creates the position table; its row is then rewritten as an older version stored it.
    assert.equal((await applyBatches(stream, [changes[0]!], { targetDatabase: db.name })).error, null);
    const sql = await mariadbConnection();
    try {
      await sql.query('DELETE FROM `cdc_apply`.`applied_position` WHERE stream = ?', [
        positionRow(stream, db.name),
      ]);
      await sql.query(
        'INSERT INTO `cdc_apply`.`applied_position` (stream, position, commit_time_micros, applied_at) VALUES (?, ?, 0, NOW(6))',
        [stream, 'pg:0/14#0'],
      );
    } finally {
      await sql.end();
    }
    const run = await applyBatches(stream, [changes.flat()], { targetDatabase: db.name });
    assert.equal(run.error, null);
    assert.equal(run.deadLetters.letters.length, 0, 'a replayed insert would collide with its own row');
    assert.deepEqual(await db.rows(`SELECT id FROM \`${db.name}\`.\`legacy\` ORDER BY id`), [
      { id: '10' },
      { id: '30' },
    ]);
    const positions = await db.rows(
      'SELECT stream, position FROM `cdc_apply`.`applied_position` WHERE stream IN (?, ?) ORDER BY stream',
      [stream, positionRow(stream, db.name)],
    );
    assert.deepEqual(positions, [
      { stream, position: 'pg:0/14#0' },
      { stream: positionRow(stream, db.name), position: 'pg:0/1E#0' },
    ]);
  });

  void test('schema evolution: columns added, dropped and retyped between batches and inside one; untranslatable changes dead-lettered', async () => {
    const stream = `${db.name}_evolve`;
    const v1 = pgTable(
      'public',
      'evolving',
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('a', 'integer', { kind: 'int32' }),
        column('gone', 'text', { kind: 'string' }),
      ],
      ['id'],
    );
    const v2 = pgTable(
      'public',
      'evolving',
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('a', 'bigint', { kind: 'int64' }),
        column('b', 'character varying(20)', { kind: 'string', maxLength: 20 }),
      ],
      ['id'],
    );
    const v3 = pgTable(
      'public',
      'evolving',
      [
        column('id', 'integer', { kind: 'int32' }, false),
        column('a', 'numeric(80,2)', { kind: 'decimal', precision: 80, scale: 2 }),
        column('b', 'character varying(20)', { kind: 'string', maxLength: 20 }),
      ],
      ['id'],
    );
    const run = await applyBatches(
      stream,
      [
        transaction(10n, [{ op: 'c', table: v1, after: { id: 1, a: 1, gone: 'x' } }]),
        [
          ...transaction(20n, [{ op: 'c', table: v1, after: { id: 2, a: 2, gone: 'y' } }]),
          ...transaction(30n, [{ op: 'c', table: v2, after: { id: 3, a: 5_000_000_000n, b: 'new' } }]),
          ...transaction(40n, [{ op: 'u', table: v2, after: { id: 1, a: 7n, b: 'set' } }]),
        ],
        transaction(50n, [{ op: 'c', table: v3, after: { id: 4, a: '1.00', b: null } }]),
      ],
      { targetDatabase: db.name },
    );
    assert.equal(run.error, null);
    assert.deepEqual(await db.rows(`SELECT * FROM \`${db.name}\`.\`evolving\` ORDER BY id`), [
      { id: '1', a: '7', b: 'set' },
      { id: '2', a: '2', b: null },
      { id: '3', a: '5000000000', b: 'new' },
    ]);
    assert.equal(run.deadLetters.letters.length, 1);
    assert.match(
      run.deadLetters.letters[0]!.reason,
      /column "a" \(numeric\(80,2\)\) has no MariaDB\/MySQL translation: DECIMAL allows at most 65 digits/,
    );
  });

  void test('names with capitals, spaces, quotes, backticks and reserved words are quoted everywhere', async () => {
    const stream = `${db.name}_names`;
    const weird = pgTable(
      'My `Schema`',
      'Order "Lines" `x`',
      [
        column('Select', 'bigint', { kind: 'int64' }, false),
        column('from `where`', 'text', { kind: 'string' }),
        column("it's", 'text', { kind: 'string' }),
      ],
      ['Select', 'from `where`'],
    );
    const run = await applyBatches(stream, [
      transaction(10n, [
        { op: 'c', table: weird, after: { Select: 1n, 'from `where`': 'k', "it's": 'v1' } },
        { op: 'c', table: weird, after: { Select: 1n, 'from `where`': 'K', "it's": 'case differs' } },
        { op: 'u', table: weird, after: { Select: 1n, 'from `where`': 'k', "it's": 'v2' } },
      ]),
      transaction(20n, [{ op: 'd', table: weird, before: { Select: 1n, 'from `where`': 'K' } }]),
    ]);
    assert.equal(run.error, null);
    assert.equal(run.deadLetters.letters.length, 0);
    const sql = await mariadbConnection();
    try {
      const [rows] = await sql.query('SELECT * FROM `My ``Schema```.`Order "Lines" ``x```');
      assert.deepEqual(rows, [{ Select: '1', 'from `where`': 'k', "it's": 'v2' }]);
    } finally {
      await sql.query('DROP DATABASE IF EXISTS `My ``Schema```');
      await sql.query('DELETE FROM `cdc_apply`.`applied_position` WHERE stream = ?', [stream]);
      await sql.end();
    }
  });
});
