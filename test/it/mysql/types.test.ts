import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import type { Value } from '../../../schemas/events/change-event.ts';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';

/** column definition, inserted SQL literal, expected Value, expected ColumnType kind */
const MATRIX: readonly (readonly [string, string, Value, ColumnType['kind']])[] = [
  ['ti TINYINT', '-128', -128, 'int16'],
  ['tu TINYINT UNSIGNED', '255', 255, 'int16'],
  ['si SMALLINT', '-32768', -32768, 'int16'],
  ['su SMALLINT UNSIGNED', '65535', 65535, 'int32'],
  ['mi MEDIUMINT', '-8388608', -8388608, 'int32'],
  ['mu MEDIUMINT UNSIGNED', '16777215', 16777215, 'int32'],
  ['i INT', '-2147483648', -2147483648, 'int32'],
  ['iu INT UNSIGNED', '4294967295', 4294967295n, 'int64'],
  ['bi BIGINT', '-9223372036854775808', -9223372036854775808n, 'int64'],
  ['bi_small BIGINT', '42', 42n, 'int64'],
  ['bu BIGINT UNSIGNED', '18446744073709551615', 18446744073709551615n, 'uint64'],
  [
    'de DECIMAL(65,30)',
    "'-12345678901234567890123456789012345.123456789012345678901234567890'",
    '-12345678901234567890123456789012345.123456789012345678901234567890',
    'decimal',
  ],
  ['de2 DECIMAL(10,2)', '0.10', '0.10', 'decimal'],
  ['f FLOAT', '1.1', Math.fround(1.1), 'float32'],
  ['d DOUBLE', '2.2250738585072014e-308', 2.2250738585072014e-308, 'float64'],
  ['dt DATE', "'2024-02-29'", '2024-02-29', 'date'],
  ['dz DATE', "'0000-00-00'", '0000-00-00', 'date'],
  ['dtm DATETIME(6)', "'2024-02-29 23:59:59.123456'", '2024-02-29 23:59:59.123456', 'timestamp'],
  ['dtm0 DATETIME', "'1999-12-31 23:59:59'", '1999-12-31 23:59:59', 'timestamp'],
  ['ts TIMESTAMP(6) NULL', "'2024-01-01 05:00:00.000001'", '2024-01-01 00:00:00.000001+00', 'timestamptz'],
  ['tm TIME(6)', "'-838:59:59.000000'", '-838:59:59.000000', 'time'],
  ['tm2 TIME', "'25:00:01'", '25:00:01', 'time'],
  ['tm3 TIME(3)', "'-00:00:01.500'", '-00:00:01.500', 'time'],
  ['y YEAR', '2024', 2024, 'int16'],
  ['c CHAR(5)', "'ab'", 'ab', 'string'],
  ['vc VARCHAR(20)', "'😀 grüße'", '😀 grüße', 'string'],
  ['tx TEXT', "'long 😀 text'", 'long 😀 text', 'string'],
  ['b BINARY(4)', "x'6162'", new Uint8Array([0x61, 0x62, 0, 0]), 'bytes'],
  ['vb VARBINARY(10)', "x'00ff00'", new Uint8Array([0, 255, 0]), 'bytes'],
  ['bl BLOB', "x'deadbeef'", new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 'bytes'],
  [
    'j JSON',
    `'{"a":[1,2.5,"x"],"b":12345678901234567890}'`,
    '{"a":[1,2.5,"x"],"b":12345678901234567890}',
    'json',
  ],
  ["e ENUM('small','large')", "'large'", 'large', 'enum'],
  ["st SET('x','y','z')", "'x,z'", 'x,z', 'set'],
  ['bt BIT(10)', "b'1010101010'", '1010101010', 'bit'],
  ['u UUID', "'123e4567-e89b-12d3-a456-426614174000'", '123e4567-e89b-12d3-a456-426614174000', 'uuid'],
];

void describe('MariaDB type matrix: value inserted, Value decoded', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  before(async () => {
    db = await createDatabase('mysql_types');
    // Zero dates are only accepted without the strict NO_ZERO_DATE mode.
    await db.sql.query("SET SESSION sql_mode = '', SESSION time_zone = '+05:00'");
    await db.sql.query(
      `CREATE TABLE t (id INT PRIMARY KEY, ${MATRIX.map(([definition]) => definition).join(', ')})`,
    );
  });
  after(async () => {
    await db.drop();
  });

  void test('snapshot reads and streamed inserts decode every type exactly, NULLs included', async () => {
    await db.sql.query(`INSERT INTO t VALUES (1, ${MATRIX.map(([, literal]) => literal).join(', ')})`);
    await db.sql.query(`INSERT INTO t (id) VALUES (2)`);
    const running = new RunningConnector(connectorConfig(db.name, { snapshot: 'initial' }));
    try {
      await running.waitForEvents('snapshot of 2 rows', (events) => events.length >= 2);
      await db.sql.query(`INSERT INTO t VALUES (3, ${MATRIX.map(([, literal]) => literal).join(', ')})`);
      await db.sql.query(`INSERT INTO t (id) VALUES (4)`);
      const events = await running.waitForEvents('2 streamed rows', (e) => e.length >= 4);
      assert.deepEqual(
        events.map((e) => [e.op, e.after?.id]),
        [
          ['r', 1],
          ['r', 2],
          ['c', 3],
          ['c', 4],
        ],
      );
      for (const event of events) {
        const full = event.after!.id === 1 || event.after!.id === 3;
        for (const [definition, literal, expected, kind] of MATRIX) {
          const name = definition.split(' ')[0]!;
          const column = event.table.columns.find((c) => c.name === name);
          assert.equal(column?.type.kind, kind, `${definition}: column type`);
          assert.deepEqual(
            event.after![name],
            full ? expected : null,
            `${definition} = ${literal} (${event.op})`,
          );
        }
      }
      const bu = events[0]!.table.columns.find((c) => c.name === 'bu')!;
      assert.equal(bu.sourceType, 'bigint(20) unsigned');
      assert.equal(events[0]!.table.columns.find((c) => c.name === 'id')!.nullable, false);
      assert.equal(bu.nullable, true);
    } finally {
      await running.stop();
    }
  });
});
