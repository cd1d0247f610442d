import type { Value } from './change-event.ts';

/**
 * Sets a column's value on a row being built. A column named `__proto__` becomes an own property, as
 * `Object.fromEntries` would make it: an assignment would replace the row's prototype instead. Every other name
 * is a plain assignment (the hot path: this runs for every column of every row image).
 */
export function setColumn(row: Record<string, Value>, name: string, value: Value): void {
  if (name === '__proto__')
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}
