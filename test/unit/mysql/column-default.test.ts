/** MariaDB's COLUMN_DEFAULT texts (as information_schema prints them) into neutral defaults. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlColumnDefault, mysqlDefaultLiteral } from '../../../connectors/mysql/types/column-default.ts';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';

void describe('MariaDB column defaults', () => {
  void test('literals: quoted strings unescaped, bare numbers as they are; NULL and expressions are none', () => {
    assert.equal(mysqlDefaultLiteral("'new'"), 'new');
    assert.equal(mysqlDefaultLiteral("'it''s \\\\ x\ttab'"), "it's \\ x\ttab");
    assert.equal(mysqlDefaultLiteral("'a\\nb\\rc\\0d\x1ae'"), 'a\nb\rc\u0000d\x1ae');
    assert.equal(mysqlDefaultLiteral("''"), '');
    assert.equal(mysqlDefaultLiteral("'NULL'"), 'NULL');
    assert.equal(mysqlDefaultLiteral('-3'), '-3');
    assert.equal(mysqlDefaultLiteral('1.50'), '1.50');
    assert.equal(mysqlDefaultLiteral('18446744073709551615'), '18446744073709551615');
    for (const expression of [null, 'NULL', 'current_timestamp()', 'uuid()', '(1 + 1)', "b'1'", "'a' 'b'"]) {
      assert.equal(mysqlDefaultLiteral(expression), null, String(expression));
    }
  });

  void test('per column type, as read from information_schema', () => {
    const cases: readonly [ColumnType, string | null, string | undefined][] = [
      [{ kind: 'int32' }, '0', '0'],
      [{ kind: 'int16' }, '1', '1'], // tinyint(1) DEFAULT true
      [{ kind: 'int16' }, '2024', '2024'], // year
      [{ kind: 'decimal', precision: 10, scale: 2 }, '1.50', '1.50'],
      [{ kind: 'float64' }, '2500', '2500'],
      [{ kind: 'string', maxLength: 20 }, "'new'", 'new'],
      [{ kind: 'string', maxLength: 10 }, "'5'", '5'],
      [{ kind: 'string' }, "'txt'", 'txt'],
      [{ kind: 'string', maxLength: 5 }, 'NULL', undefined],
      [{ kind: 'string', maxLength: 36 }, 'uuid()', undefined],
      [{ kind: 'enum', values: ['x', 'y'] }, "'y'", 'y'],
      [{ kind: 'date' }, "'2024-01-01'", '2024-01-01'],
      [{ kind: 'date' }, "'0000-00-00'", undefined],
      [{ kind: 'timestamp', precision: 3 }, "'2024-01-01 10:00:00.500'", '2024-01-01 10:00:00.500'],
      [{ kind: 'time', precision: 0 }, "'12:30:00'", '12:30:00'],
      [{ kind: 'time', precision: 0 }, "'-01:00:00'", undefined],
      [{ kind: 'bit', length: 1 }, "b'1'", undefined],
      [{ kind: 'int32' }, '(1 + 1)', undefined],
      [{ kind: 'int32' }, null, undefined],
    ];
    for (const [type, text, expected] of cases) {
      assert.equal(mysqlColumnDefault(type, text, null), expected, `${JSON.stringify(type)} ${text}`);
    }
  });

  void test('a TIMESTAMP default is the UTC instant the server converted it to, printed as values are', () => {
    const type: ColumnType = { kind: 'timestamptz', precision: 0 };
    assert.equal(
      mysqlColumnDefault(type, "'2024-01-01 10:00:00'", '2024-01-01 05:00:00'),
      '2024-01-01 05:00:00+00',
    );
    assert.equal(mysqlColumnDefault(type, 'current_timestamp()', null), undefined);
    assert.equal(mysqlColumnDefault(type, "'0000-00-00 00:00:00'", null), undefined);
  });
});
