/**
 * A RELATION message can arrive a moment before its transaction is visible to other sessions (PostgreSQL
 * flushes the commit record, which decoding follows, before it marks the transaction committed). The catalog is
 * then read again until it holds the columns the message names. That window lasts microseconds and cannot be
 * provoked on purpose, so the pool here is a stand-in that answers as a session inside the window would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { PgCatalog } from '../../../connectors/postgres/types/catalog.ts';
import { CdcError } from '../../../common/errors.ts';

const TABLE_ROW = {
  schema: 'public',
  table: 'notes',
  identity: 'd',
  primary_key: ['id'],
  identity_key: null,
  database: 'app',
};

function column(name: string, type: { name: string; oid: number; text: string }) {
  return {
    name,
    source_type: type.text,
    nullable: name !== 'id',
    typmod: -1,
    dims: 0,
    type_name: type.name,
    type_schema: 'pg_catalog',
    type_kind: 'b',
    type_oid: type.oid,
    elem_name: null,
    elem_schema: null,
    elem_kind: null,
    elem_oid: null,
    enum_labels: null,
    elem_enum_labels: null,
    default_expr: null,
    user_type_oid: null,
  };
}
const COLUMN_ROWS = [
  column('id', { name: 'int4', oid: 23, text: 'integer' }),
  column('note', { name: 'text', oid: 25, text: 'text' }),
];

/** Answers `invisibleReads` column queries as if the table had no columns yet (and its table query with nothing while `tableHidden`). */
function poolInTheWindow(
  invisibleReads: number,
  tableHidden = false,
): { pool: pg.Pool; reads: () => number } {
  let columnReads = 0;
  const pool = {
    query: (sql: string) => {
      const inWindow = columnReads < invisibleReads;
      if (sql.includes('FROM pg_attribute a')) {
        columnReads++;
        return Promise.resolve({ rows: inWindow ? [] : COLUMN_ROWS });
      }
      return Promise.resolve({ rows: inWindow && tableHidden ? [] : [TABLE_ROW] });
    },
  };
  return { pool: pool as unknown as pg.Pool, reads: () => columnReads };
}

test('a table whose columns are not visible yet is read again until they are', async () => {
  const { pool, reads } = poolInTheWindow(3);
  const table = await new PgCatalog(pool).forRelation(16384, 'sig', ['id', 'note']);
  assert.deepEqual(
    table.schema.columns.map((c) => c.name),
    ['id', 'note'],
  );
  assert.deepEqual(table.schema.key, ['id']);
  assert.equal(reads(), 4);
});

test('a table not in the catalog yet is read again until it is', async () => {
  const { pool } = poolInTheWindow(2, true);
  const table = await new PgCatalog(pool).forRelation(16384, 'sig', ['id', 'note']);
  assert.deepEqual(
    table.schema.columns.map((c) => c.name),
    ['id', 'note'],
  );
});

test('a table that is really gone still fails, naming the relation', async () => {
  const { pool } = poolInTheWindow(Number.POSITIVE_INFINITY, true);
  await assert.rejects(
    new PgCatalog(pool).forRelation(16384, 'sig', ['id', 'note']),
    (error: unknown) =>
      error instanceof CdcError &&
      error.code === 'SOURCE_TABLE_UNSUPPORTED' &&
      /relation 16384 is not in the catalog/.test(error.message),
  );
});

test('a column dropped since the change was made is taken as the catalog has it, after a short wait', async () => {
  const { pool } = poolInTheWindow(0);
  const table = await new PgCatalog(pool).forRelation(16384, 'sig', ['id', 'note', 'dropped_since']);
  assert.deepEqual(
    table.schema.columns.map((c) => c.name),
    ['id', 'note'],
  );
});
