/**
 * The table-schema check a sink runs before any DDL (services/apply/schema-check/table-check.ts): what it
 * refuses names the table, the column and the text, and what the target does not put into DDL is left alone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import type { UserType } from '../../../schemas/events/user-type.ts';
import { tableSchemaRefusal } from '../../../services/apply/schema-check/table-check.ts';
import { column, pgTable } from './events.ts';

const healthy = pgTable(
  'shop',
  'orders',
  [column('id', 'bigint', { kind: 'int64' }, false), column('mood', 'shop.mood')],
  ['id'],
);

function withColumn(
  table: TableSchema,
  sourceType: string,
  type: ColumnType = { kind: 'text' },
): TableSchema {
  return { ...table, columns: [...table.columns, column('evil', sourceType, type)] };
}

function mysqlTable(sourceType: string, type: ColumnType = { kind: 'text' }): TableSchema {
  return {
    ...healthy,
    dialect: 'mysql',
    columns: [column('id', 'bigint(20)', { kind: 'int64' }), column('evil', sourceType, type)],
  };
}

void describe('table schema check', () => {
  void test('a healthy table passes on both targets', () => {
    assert.equal(tableSchemaRefusal(healthy, 'postgres'), null);
    assert.equal(tableSchemaRefusal(healthy, 'mysql'), null);
  });

  void test('a malicious source type is refused with table, column and text', () => {
    const refusal = tableSchemaRefusal(withColumn(healthy, 'int); DROP TABLE victim; --'), 'postgres');
    assert.equal(refusal?.code, 'SCHEMA_REFUSED');
    assert.equal(refusal?.retriable, false);
    assert.equal(refusal?.fields.table, 'shop.orders');
    assert.equal(refusal?.fields.column, 'evil');
    assert.equal(refusal?.fields.text, 'int); DROP TABLE victim; --');
    assert.match(
      refusal?.message ?? '',
      /^table shop\.orders refused before any DDL: column "evil": type "int\); DROP TABLE victim; --" is not a PostgreSQL type: a statement separator/,
    );
  });

  void test('a source type is checked where the target declares it verbatim, the neutral type everywhere', () => {
    const hostile = mysqlTable("enum('a'); DROP TABLE victim; --')", { kind: 'enum', values: ['a'] });
    assert.equal(tableSchemaRefusal(hostile, 'mysql')?.fields.column, 'evil');
    assert.equal(tableSchemaRefusal(hostile, 'postgres'), null, 'a PostgreSQL target maps the neutral type');
    const badNeutral = mysqlTable('decimal(10,2)', {
      kind: 'decimal',
      precision: '10); DROP TABLE victim',
    } as unknown as ColumnType);
    assert.match(
      tableSchemaRefusal(badNeutral, 'postgres')?.message ?? '',
      /neutral type .* has a precision that is not a whole number/,
    );
    const unknownKind = mysqlTable('int', { kind: 'sql', text: 'x' } as unknown as ColumnType);
    assert.match(tableSchemaRefusal(unknownKind, 'mysql')?.message ?? '', /has an unknown kind/);
    const nulValue = mysqlTable("enum('a')", { kind: 'enum', values: ['a\0b'] });
    assert.match(
      tableSchemaRefusal(nulValue, 'postgres')?.message ?? '',
      /has a value that holds a NUL byte/,
    );
  });

  void test('names past the target limit, with a NUL, or in the sink schema are refused', () => {
    const long = 'c'.repeat(64);
    const refusal = tableSchemaRefusal(
      { ...healthy, columns: [...healthy.columns, column(long, 'text')] },
      'postgres',
    );
    assert.equal(refusal?.fields.column, long);
    assert.match(refusal?.message ?? '', /64 bytes long; PostgreSQL names are at most 63 bytes/);
    assert.equal(
      tableSchemaRefusal({ ...healthy, columns: [...healthy.columns, column(long, 'text')] }, 'mysql'),
      null,
    );
    assert.match(
      tableSchemaRefusal({ ...healthy, table: 'a\0b' }, 'mysql')?.message ?? '',
      /table name .* NUL/,
    );
    assert.match(
      tableSchemaRefusal({ ...healthy, schema: 'cdc_apply' }, 'postgres')?.message ?? '',
      /sink's own schema/,
    );
    assert.match(
      tableSchemaRefusal({ ...healthy, key: ['nope'] }, 'postgres')?.message ?? '',
      /key column "nope" is not a column/,
    );
  });

  void test('user types: every text bound for CREATE TYPE / DOMAIN is checked on a PostgreSQL target', () => {
    const withTypes = (userTypes: readonly UserType[]): TableSchema => ({ ...healthy, userTypes });
    const ok: UserType[] = [
      { kind: 'enum', schema: 'shop', name: 'mood', labels: ["it's", 'sad'] },
      {
        kind: 'domain',
        schema: 'shop',
        name: 'posint',
        baseType: 'integer',
        notNull: false,
        checks: [{ name: 'posint_check', definition: 'CHECK ((VALUE > 0))' }],
      },
      {
        kind: 'domain',
        schema: 'shop',
        name: 'code',
        baseType: 'text',
        notNull: false,
        checks: [{ name: 'c', definition: 'CHECK ((shop.valid(VALUE)))' }],
      },
      {
        kind: 'composite',
        schema: 'shop',
        name: 'address',
        attributes: [
          { name: 'street', type: 'text' },
          { name: 'n', type: 'shop.posint' },
        ],
      },
      {
        kind: 'range',
        schema: 'shop',
        name: 'floatrange',
        subtype: 'double precision',
        subtypeDiff: 'float8mi',
        multirange: { schema: 'shop', name: 'floatmultirange' },
      },
    ];
    assert.equal(
      tableSchemaRefusal(withTypes(ok), 'postgres'),
      null,
      'a check calling a function of the source is left out later, not refused',
    );
    const cases: [UserType, RegExp][] = [
      [
        {
          kind: 'domain',
          schema: 'shop',
          name: 'd',
          baseType: 'int; DROP TABLE victim',
          notNull: false,
          checks: [],
        },
        /base type "int; DROP TABLE victim" is not a PostgreSQL type/,
      ],
      [
        {
          kind: 'domain',
          schema: 'shop',
          name: 'd',
          baseType: 'int',
          notNull: false,
          checks: [{ name: 'c', definition: 'CHECK (true); DROP TABLE victim; --' }],
        },
        /constraint .* is not one CHECK: a statement separator/,
      ],
      [
        {
          kind: 'composite',
          schema: 'shop',
          name: 'a',
          attributes: [{ name: 'x', type: 'int) ; DROP TABLE victim' }],
        },
        /attribute type/,
      ],
      [
        { kind: 'range', schema: 'shop', name: 'r', subtype: 'int', subtypeDiff: 'x(); DROP TABLE victim' },
        /subtype_diff .* is not a pg_catalog function name/,
      ],
      [{ kind: 'enum', schema: 'shop', name: 'm'.repeat(64), labels: [] }, /64 bytes long/],
      [
        { kind: 'enum', schema: 'shop', name: 'm', labels: 'a' } as unknown as UserType,
        /labels "\\"a\\"" is not a list of texts/,
      ],
    ];
    for (const [type, why] of cases)
      assert.match(tableSchemaRefusal(withTypes([type]), 'postgres')?.message ?? '', why);
    assert.equal(
      tableSchemaRefusal(withTypes(cases.map(([type]) => type)), 'mysql'),
      null,
      'a MariaDB target creates no user types',
    );
  });
});
