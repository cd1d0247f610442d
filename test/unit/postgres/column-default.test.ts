/** PostgreSQL default expressions (as pg_get_expr prints them) into neutral defaults. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pgColumnDefault, pgDefaultLiteral } from '../../../connectors/postgres/types/column-default.ts';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';

void describe('PostgreSQL column defaults', () => {
  void test('constants bare or as a cast literal; function calls, operators and special values are none', () => {
    assert.equal(pgDefaultLiteral('0'), '0');
    assert.equal(pgDefaultLiteral('1.5'), '1.5');
    assert.equal(pgDefaultLiteral('true'), 'true');
    assert.equal(pgDefaultLiteral("'-3'::integer"), '-3');
    assert.equal(pgDefaultLiteral("'new'::character varying"), 'new');
    assert.equal(pgDefaultLiteral("'it''s \\ x'::text"), "it's \\ x");
    assert.equal(pgDefaultLiteral("'line\nnext'::text"), 'line\nnext');
    assert.equal(pgDefaultLiteral("''::text"), '');
    assert.equal(pgDefaultLiteral("'ok'::public.mood"), 'ok');
    assert.equal(pgDefaultLiteral(`'ok'::"My Schema"."Mood"`), 'ok');
    assert.equal(
      pgDefaultLiteral("'2024-01-01 10:00:00+00'::timestamp with time zone"),
      '2024-01-01 10:00:00+00',
    );
    assert.equal(pgDefaultLiteral("'12:00'::time(3) without time zone"), '12:00');
    for (const expression of [
      null,
      'now()',
      'CURRENT_TIMESTAMP',
      "nextval('s'::regclass)",
      'gen_random_uuid()',
      '(1 + 1)',
      "('a'::text || 'b'::text)",
      "('2024-01-01'::date - 1)",
      "'{1,2}'::integer[]",
      'NULL::text',
      "E'a\\\\b'::text",
    ]) {
      assert.equal(pgDefaultLiteral(expression), null, String(expression));
    }
  });

  void test('per column type, as read from pg_attrdef with TimeZone UTC', () => {
    const cases: readonly [ColumnType, string | null, string | undefined][] = [
      [{ kind: 'int32' }, '0', '0'],
      [{ kind: 'int32' }, "'-3'::integer", '-3'],
      [{ kind: 'int64' }, "'-9223372036854775808'::bigint", '-9223372036854775808'],
      [{ kind: 'decimal', precision: 10, scale: 2 }, '1.5', '1.50'],
      [{ kind: 'decimal' }, "'-1.5'::numeric", '-1.5'],
      [{ kind: 'float64' }, "'2500'::numeric", '2500'],
      [{ kind: 'float64' }, "'-1'::integer", '-1'],
      [{ kind: 'float64' }, "'NaN'::double precision", undefined],
      [{ kind: 'boolean' }, 'false', 'false'],
      [{ kind: 'string', maxLength: 20 }, "'new'::character varying", 'new'],
      [{ kind: 'string', maxLength: 10 }, '5', '5'],
      [{ kind: 'enum', values: ['sad', 'ok'] }, "'ok'::public.mood", 'ok'],
      [{ kind: 'date' }, "'2024-01-01'::date", '2024-01-01'],
      [{ kind: 'date' }, "'infinity'::date", undefined],
      [
        { kind: 'timestamp', precision: 3 },
        "'2024-01-01 10:00:00.5'::timestamp without time zone",
        '2024-01-01 10:00:00.5',
      ],
      [
        { kind: 'timestamptz' },
        "'2024-01-01 10:00:00+00'::timestamp with time zone",
        '2024-01-01 10:00:00+00',
      ],
      [{ kind: 'time', withTimeZone: true }, "'12:30:00+02'::time with time zone", '12:30:00+02'],
      [{ kind: 'uuid' }, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", undefined],
      [{ kind: 'int64' }, "nextval('s'::regclass)", undefined],
      [{ kind: 'timestamptz' }, 'now()', undefined],
    ];
    for (const [type, text, expected] of cases) {
      assert.equal(pgColumnDefault(type, text), expected, `${JSON.stringify(type)} ${text}`);
    }
  });
});
