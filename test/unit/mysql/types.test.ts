import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  catalogColumnFromType,
  columnTypeOf,
  parseValueList,
} from '../../../connectors/mysql/types/column-type.ts';
import { decodeRow, decodeValue } from '../../../connectors/mysql/types/decode-value.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { checkGrants, requireSetting } from '../../../connectors/mysql/replication/source-checks.ts';
import { decodeMysqlConnectorConfig } from '../../../connectors/mysql/config.ts';

function column(type: ColumnType, sourceType = type.kind): ColumnSchema {
  return { name: 'c', type, sourceType, nullable: true };
}

void describe('MySQL column types', () => {
  void test('integer kinds hold the whole signed or unsigned range', () => {
    const kind = (columnType: string) => columnTypeOf(catalogColumnFromType('c', columnType)).kind;
    assert.equal(kind('tinyint unsigned'), 'int16');
    assert.equal(kind('smallint unsigned'), 'int32');
    assert.equal(kind('int unsigned'), 'int64');
    assert.equal(kind('bigint'), 'int64');
    assert.equal(kind('bigint unsigned'), 'uint64');
    assert.deepEqual(columnTypeOf(catalogColumnFromType('c', 'decimal(65,30)')), {
      kind: 'decimal',
      precision: 65,
      scale: 30,
    });
    assert.deepEqual(columnTypeOf(catalogColumnFromType('c', 'datetime(6)')), {
      kind: 'timestamp',
      precision: 6,
    });
    assert.deepEqual(columnTypeOf(catalogColumnFromType('c', 'varchar(20)')), {
      kind: 'string',
      maxLength: 20,
      fixed: false,
    });
  });

  void test('enum and set value lists keep quotes and commas inside values', () => {
    assert.deepEqual(parseValueList("enum('a','it''s','x,y')"), ['a', "it's", 'x,y']);
  });
});

void describe('MySQL value decoding', () => {
  void test('a row holds each column of its table as its own property, whatever the column is called', () => {
    const names = ['id', '__proto__', 'constructor', 'missing'];
    const table = {
      database: 'd',
      schema: 'd',
      table: 't',
      dialect: 'mysql',
      key: ['id'],
      beforeImage: 'full',
      columns: names.map((name) => ({
        name,
        type: { kind: 'string' },
        sourceType: 'varchar(10)',
        nullable: true,
      })),
    } as TableSchema;
    const raw = JSON.parse('{"id": "1", "__proto__": "p", "constructor": "c"}') as Record<string, unknown>;
    const row = decodeRow(table, raw);
    assert.deepStrictEqual(Object.keys(row), names);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepStrictEqual(
      names.map((name) => row[name]),
      ['1', 'p', 'c', null],
    );
  });

  void test('64-bit integers become exact bigints from numbers or strings', () => {
    assert.equal(decodeValue(column({ kind: 'uint64' }), '18446744073709551615'), 18446744073709551615n);
    assert.equal(decodeValue(column({ kind: 'int64' }), 42), 42n);
  });

  void test('timestamps read in UTC get their offset; zero dates pass through as text', () => {
    assert.equal(
      decodeValue(column({ kind: 'timestamptz', precision: 6 }), '2024-01-01 00:00:00.000001'),
      '2024-01-01 00:00:00.000001+00',
    );
    assert.equal(decodeValue(column({ kind: 'timestamptz' }), '0000-00-00 00:00:00'), '0000-00-00 00:00:00');
    assert.equal(decodeValue(column({ kind: 'date' }), '0000-00-00'), '0000-00-00');
  });

  void test('uuid bytes, bit values and float32 normalize to one form', () => {
    const bytes = Buffer.from('123e4567e89b12d3a456426614174000', 'hex');
    assert.equal(decodeValue(column({ kind: 'uuid' }), bytes), '123e4567-e89b-12d3-a456-426614174000');
    assert.equal(decodeValue(column({ kind: 'bit', length: 10 }), Buffer.from([0x02, 0xaa])), '1010101010');
    assert.equal(
      decodeValue(column({ kind: 'float32' }), 1.1),
      decodeValue(column({ kind: 'float32' }), Math.fround(1.1)),
    );
  });

  void test('an undecodable value names the column and its type', () => {
    assert.throws(
      () =>
        decodeValue(
          { name: 'qty', type: { kind: 'int64' }, sourceType: 'bigint(20)', nullable: false },
          'abc',
        ),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'DECODE_FAILED' &&
        /"qty" \(bigint\(20\)\)/.test(error.message),
    );
  });
});

void describe('source checks', () => {
  void test('a missing setting says what to set', () => {
    assert.throws(
      () => requireSetting('MINIMAL', 'FULL', 'binlog_row_metadata'),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'SOURCE_NOT_CONFIGURED' &&
        /binlog_row_metadata=MINIMAL.*needs binlog_row_metadata=FULL/.test(error.message),
    );
  });

  void test('grants: replication privileges and SELECT on the captured databases', () => {
    checkGrants(
      [
        'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`',
        'GRANT SELECT ON `shop`.* TO `cdc`@`%`',
      ],
      ['shop'],
    );
    assert.throws(
      () => checkGrants(['GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`'], ['shop']),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'SOURCE_PRIVILEGE' &&
        /REPLICATION CLIENT/.test(error.message) &&
        /SELECT on shop/.test(error.message),
    );
  });
});

void describe('connector config', () => {
  void test('defaults apply and a wrong field is named', () => {
    const config = decodeMysqlConnectorConfig({
      name: 'm',
      url: 'mysql://root@h:3306/',
      flavor: 'mariadb',
      serverId: 7,
      tables: ['shop.*'],
    });
    assert.equal(config.snapshot, 'initial');
    assert.throws(
      () =>
        decodeMysqlConnectorConfig({
          name: 'm',
          url: 'mysql://h/',
          flavor: 'mariadb',
          serverId: 0,
          tables: ['shop.*'],
        }),
      /serverId/,
    );
  });
});
