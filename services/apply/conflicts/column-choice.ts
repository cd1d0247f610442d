/**
 * Which columns an update writes under a table's policies: per-column policies first (`delta` adds new − old of
 * a counter to the local value), then the row's policy; `merge` writes only the columns the change really
 * changed, and a column changed on both sides only when the remote version wins. Pure.
 */
import type { Row, UpdateEvent } from '../../../schemas/events/change-event.ts';
import type { TableShape } from '../sql-dialect.ts';
import { unsentColumns } from '../statements.ts';
import type { TablePolicy } from './types.ts';
import { sameValue } from './values-json.ts';

/** `column = value`, or with `delta` `column = column + value`. */
export interface Assignment {
  readonly column: string;
  readonly value: unknown;
  readonly delta: boolean;
}

/**
 * The columns an update writes. `equal` holds the columns whose local value equals the update's old image,
 * `differs` whether the row is in conflict, `wins` whether the remote version wins it.
 */
export function chooseColumns(
  shape: TableShape,
  policy: TablePolicy,
  event: UpdateEvent,
  equal: ReadonlySet<string>,
  differs: boolean,
  wins: boolean,
): Assignment[] {
  const before = event.before ?? {};
  const out: Assignment[] = [];
  for (const name of sentColumns(shape, event)) {
    const value = event.after[name];
    const columnPolicy = policy.columns[name];
    const changedLocal = Object.hasOwn(before, name) && before[name] !== undefined && !equal.has(name);
    if (columnPolicy === 'delta') {
      const delta = difference(before[name], value);
      if (delta !== null) {
        if (delta !== 0 && delta !== '0') out.push({ column: name, value: delta, delta: true });
        continue;
      }
    }
    if (columnPolicy === 'keep-remote') out.push({ column: name, value, delta: false });
    else if (columnPolicy === 'keep-local') {
      if (!changedLocal || !differs) out.push({ column: name, value, delta: false });
    } else if (!differs) out.push({ column: name, value, delta: false });
    else if (policy.policy === 'merge') {
      const changedRemote =
        !Object.hasOwn(before, name) || before[name] === undefined || !sameValue(before[name], value);
      if (changedRemote && (!changedLocal || wins)) out.push({ column: name, value, delta: false });
    } else if (wins) out.push({ column: name, value, delta: false });
  }
  return out;
}

/** Columns an update really sent (not unchanged TOAST). */
export function sentColumns(shape: TableShape, event: UpdateEvent): string[] {
  const unsent = new Set(unsentColumns(shape.table, event.after, event.unchanged));
  return shape.table.columns.map((column) => column.name).filter((name) => !unsent.has(name));
}

/** Every non-key column of a row (a resolver's row). */
export function allAssignments(shape: TableShape, row: Row): Assignment[] {
  return shape.table.columns
    .filter((column) => row[column.name] !== undefined && !shape.table.key.includes(column.name))
    .map((column) => ({ column: column.name, value: row[column.name], delta: false }));
}

/** new − old of a counter, exact for integers (bigint) and plain for floats; null when either is not a number. */
function difference(old: Row[string] | undefined, next: Row[string] | undefined): number | string | null {
  if (typeof old === 'bigint' && typeof next === 'bigint') return (next - old).toString();
  if (typeof old === 'number' && typeof next === 'number') return next - old;
  return null;
}

/**
 * Why the table's policies cannot work as configured, or null: `delta` needs each counter's old value and
 * `merge` the whole old row, which a PostgreSQL source sends only under REPLICA IDENTITY FULL. Without them the
 * columns go by the row's last-writer-wins, so concurrent increments are lost.
 */
export function oldImageWarning(shape: TableShape, policy: TablePolicy, table: string): string | null {
  if (shape.table.beforeImage === 'full') return null;
  const deltas = Object.keys(policy.columns).filter((name) => policy.columns[name] === 'delta');
  if (deltas.length === 0 && policy.policy !== 'merge') return null;
  const needs =
    deltas.length > 0 ? `delta column${deltas.length > 1 ? 's' : ''} ${deltas.join(', ')}` : 'column merge';
  return `${table}: ${needs} needs the old row, but its changes carry ${shape.table.beforeImage === 'key' ? 'only the key' : 'no old row'}; they go by last-writer-wins instead and concurrent increments are lost. Fix: ALTER TABLE ${table} REPLICA IDENTITY FULL on every node`;
}
