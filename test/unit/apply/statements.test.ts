/**
 * Multi-row inserts: the text numbers every row's placeholders in order and matches the row count and upsert
 * asked for, whichever insert of the same table was built before (the last text is reused when it fits).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { insertRows } from '../../../services/apply/statements.ts';
import { PostgresDialect } from '../../../services/apply/postgres/postgres-dialect.ts';
import { silentLogger } from '../../../common/logger.ts';
import { column, pgTable } from './events.ts';

const table = pgTable(
  'public',
  'items',
  [column('id', 'int4', { kind: 'int32' }), column('note', 'text')],
  ['id'],
);
const syntax = new PostgresDialect({ url: 'postgres://apply@127.0.0.1/replica' }, silentLogger).syntax;
const rows = (count: number, from: number) =>
  Array.from({ length: count }, (_, i) => ({ id: from + i, note: `n${from + i}` }));

test('each insert has its own rows, placeholders and upsert clause, whatever insert of the table came before', () => {
  const asked: [number, boolean, string][] = [
    [2, false, '"public"."items"'],
    [2, false, '"public"."items"'],
    [3, false, '"public"."items"'],
    [2, true, '"public"."items"'],
    [2, false, '"other"."items"'],
    [2, false, '"public"."items"'],
  ];
  asked.forEach(([count, upsert, target], n) => {
    const statement = insertRows(syntax, table, target, rows(count, n * 10), upsert);
    const tuples = Array.from({ length: count }, (_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
    const plain = `INSERT INTO ${target} ("id", "note") VALUES ${tuples}`;
    assert.equal(statement.text, upsert ? `${plain} ${syntax.upsertClause(table)}` : plain);
    assert.deepStrictEqual(
      statement.values,
      rows(count, n * 10).flatMap((row) => [String(row.id), row.note]),
    );
  });
});
