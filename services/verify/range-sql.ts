/**
 * The WHERE clause of a key range, shared by the dialects: a row-value comparison of the key's order
 * expressions with bound parameters, `(k1, k2) > (?, ?) AND (k1, k2) <= (?, ?)`, with open bounds left out.
 * Both PostgreSQL and MariaDB compare row values lexicographically, which is the tuple order chunks use.
 */
import type { KeyRange, KeyTuple } from './types.ts';

/** Turns the i-th key value into SQL text for a bound parameter (placeholder, possibly cast). */
export type BindKey = (keyIndex: number, value: string) => string;

export function rangeCondition(orderExpressions: readonly string[], range: KeyRange, bind: BindKey): string {
  const conditions: string[] = [];
  if (range.from !== null) conditions.push(compare(orderExpressions, '>', range.from, bind));
  if (range.to !== null) conditions.push(compare(orderExpressions, '<=', range.to, bind));
  return conditions.length === 0 ? '1 = 1' : conditions.join(' AND ');
}

export function compare(
  orderExpressions: readonly string[],
  operator: '>' | '<=',
  key: KeyTuple,
  bind: BindKey,
): string {
  const values = key.map((value, index) => bind(index, value));
  if (orderExpressions.length === 1) return `${orderExpressions[0] ?? ''} ${operator} ${values[0] ?? ''}`;
  return `(${orderExpressions.join(', ')}) ${operator} (${values.join(', ')})`;
}
