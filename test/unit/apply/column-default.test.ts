/** The DEFAULT clauses the sinks declare for a source column's constant default, in each target dialect. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultClause as mysqlDefault } from '../../../services/apply/mysql/column-default.ts';
import { defaultClause as pgDefault } from '../../../services/apply/postgres/column-default.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { pgTable } from './events.ts';

function withDefault(
  type: ColumnType,
  value: string | undefined,
  sourceType: string = type.kind,
): ColumnSchema {
  return { name: 'c', type, sourceType, nullable: true, ...(value !== undefined ? { default: value } : {}) };
}

const mysqlTable = (column: ColumnSchema): TableSchema => ({
  ...pgTable('shop', 't', [column], []),
  dialect: 'mysql',
});

void describe('DEFAULT clauses of target columns', () => {
  void test('PostgreSQL: a quoted literal the column type reads, none without a default', () => {
    assert.equal(pgDefault(withDefault({ kind: 'int32' }, '0')), " DEFAULT '0'");
    assert.equal(pgDefault(withDefault({ kind: 'string' }, "it's \\")), " DEFAULT E'it''s \\\\'");
    assert.equal(pgDefault(withDefault({ kind: 'boolean' }, 'true')), " DEFAULT 'true'");
    assert.equal(
      pgDefault(withDefault({ kind: 'timestamptz' }, '2024-01-01 05:00:00+00')),
      " DEFAULT '2024-01-01 05:00:00+00'",
    );
    assert.equal(pgDefault(withDefault({ kind: 'int32' }, undefined)), '');
  });

  void test('MariaDB: numbers bare, strings escaped, PostgreSQL values converted as row values are', () => {
    const pg = (column: ColumnSchema) =>
      mysqlDefault(column, pgTable('public', 't', [column], []), 'x', 'mariadb');
    assert.equal(pg(withDefault({ kind: 'int32' }, '-3')), ' DEFAULT -3');
    assert.equal(pg(withDefault({ kind: 'int64' }, '9223372036854775807')), ' DEFAULT 9223372036854775807');
    assert.equal(pg(withDefault({ kind: 'decimal', scale: 2 }, '1.50')), ' DEFAULT 1.50');
    assert.equal(pg(withDefault({ kind: 'boolean' }, 'true')), ' DEFAULT 1');
    assert.equal(pg(withDefault({ kind: 'string' }, "it's \\")), " DEFAULT 'it''s \\\\'");
    assert.equal(
      pg(withDefault({ kind: 'timestamptz' }, '2024-01-01 10:00:00+05:30')),
      " DEFAULT '2024-01-01 04:30:00'",
    );
    // PostgreSQL holds dates MariaDB cannot: the column is added without a default rather than not at all.
    assert.equal(pg(withDefault({ kind: 'date' }, '9999-12-31')), " DEFAULT '9999-12-31'");
    assert.equal(pg(withDefault({ kind: 'timestamptz' }, '9999-12-31 23:00:00-05')), '');
    assert.equal(pg(withDefault({ kind: 'int32' }, undefined)), '');
  });

  void test('MySQL takes a literal default on TEXT and JSON columns only as an expression', () => {
    const column = withDefault({ kind: 'string' }, 'new', 'text');
    assert.equal(mysqlDefault(column, mysqlTable(column), 'longtext', 'mysql'), " DEFAULT ('new')");
    assert.equal(mysqlDefault(column, mysqlTable(column), 'longtext', 'mariadb'), " DEFAULT 'new'");
    assert.equal(mysqlDefault(column, mysqlTable(column), 'varchar(20)', 'mysql'), " DEFAULT 'new'");
  });
});
