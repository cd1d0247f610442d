/**
 * A delta counter or a column merge needs the change's old row; a table whose changes carry only the key is
 * named with the fix, so lost increments are not silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oldImageWarning } from '../../../services/apply/conflicts/column-choice.ts';
import type { TablePolicy } from '../../../services/apply/conflicts/types.ts';
import type { TableShape } from '../../../services/apply/sql-dialect.ts';
import { column, pgTable } from './events.ts';

function shape(beforeImage: 'full' | 'key' | 'none'): TableShape {
  const table = pgTable(
    'public',
    'counters',
    [column('id', 'integer', { kind: 'int32' }, false), column('total', 'bigint', { kind: 'int64' })],
    ['id'],
  );
  return { sql: 'public.counters', table: { ...table, beforeImage }, epoch: 0 };
}

const delta: TablePolicy = { policy: 'last-writer-wins', columns: { total: 'delta' } };
const merge: TablePolicy = { policy: 'merge', columns: {} };
const plain: TablePolicy = { policy: 'last-writer-wins', columns: {} };

test('a delta column or a column merge without the whole old row is named with the fix', () => {
  const warning = oldImageWarning(shape('key'), delta, 'public.counters');
  assert.match(warning ?? '', /delta column total needs the old row, but its changes carry only the key/);
  assert.match(warning ?? '', /ALTER TABLE public\.counters REPLICA IDENTITY FULL/);
  assert.match(oldImageWarning(shape('none'), merge, 'public.counters') ?? '', /column merge .* no old row/);
});

test('nothing to say with the whole old row, or when no policy needs it', () => {
  assert.equal(oldImageWarning(shape('full'), delta, 'public.counters'), null);
  assert.equal(oldImageWarning(shape('key'), plain, 'public.counters'), null);
});
