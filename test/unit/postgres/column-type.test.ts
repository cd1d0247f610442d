/** How a PostgreSQL column's catalog facts become the neutral column type. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { columnTypeOf } from '../../../connectors/postgres/types/column-type.ts';

const numeric = { name: 'numeric', schema: 'pg_catalog', kind: 'b' };

/** The typmod PostgreSQL stores for numeric(precision, scale) (make_numeric_typmod). */
function numericTypmod(precision: number, scale: number): number {
  return ((precision << 16) | (scale & 0x7ff)) + 4;
}

describe('PostgreSQL column types', () => {
  test('numeric keeps its precision and scale, a negative scale or one above the precision included', () => {
    for (const [precision, scale] of [
      [10, 2],
      [5, 0],
      [5, -2],
      [3, 5],
      [1000, 1000],
      [1000, -1000],
    ] as const) {
      assert.deepEqual(
        columnTypeOf({ type: numeric, element: null, typmod: numericTypmod(precision, scale) }),
        { kind: 'decimal', precision, scale },
        `numeric(${precision},${scale})`,
      );
    }
  });

  test('numeric without a typmod is unconstrained', () => {
    assert.deepEqual(columnTypeOf({ type: numeric, element: null, typmod: -1 }), { kind: 'decimal' });
  });
});
