/**
 * Rows as JSON text for the conflict log and tombstone keys: exact and stable (bigints as decimal strings,
 * bytes as `\x` hex, keys in the table's key order), so the same key always gives the same text.
 */
import type { Row, Value } from '../../../schemas/events/change-event.ts';

function plain(value: Value | undefined): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return (value as readonly Value[]).map(plain);
  return value;
}

/** The row as JSON; columns the event did not send (undefined) are left out. */
export function rowJson(row: Row): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(row).flatMap(([name, value]) => (value === undefined ? [] : [[name, plain(value)]])),
    ),
  );
}

export function keyJson(key: readonly string[], row: Row): string {
  return JSON.stringify(Object.fromEntries(key.map((name) => [name, plain(row[name])])));
}

/** Two values of one event (before and after) are the same. */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  return JSON.stringify(plain(a)) === JSON.stringify(plain(b));
}
