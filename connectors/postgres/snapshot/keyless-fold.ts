/**
 * The fold for a table without a key. Such a table is read in one chunk, and its rows have no identity but
 * their values: a row applied twice is a second row. So, unlike the keyed fold (chunk-fold.ts), which may
 * apply a change the chunk already saw because its values are absolute, this fold must apply each change
 * exactly when the chunk did not see it. The caller passes only the changes of transactions the chunk's MVCC
 * snapshot did not see (xid-snapshot.ts tells exactly), and the chunk replaces the whole table at the replica
 * (a snapshot truncate goes out first), so every change the stream sent before it is superseded.
 *
 * The rows are a multiset: an insert adds one, a delete removes one equal to its old image, an update does
 * both. Old images are whole under REPLICA IDENTITY FULL (PostgreSQL inlines TOASTed values into them).
 */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { rowString } from './row-key.ts';

/**
 * The chunk's rows after `events` (in stream order, none of them seen by the chunk); null when an event
 * cannot be matched to one of the rows (no whole old image, or no equal row) and the chunk must be read again.
 */
export function foldKeyless(
  table: TableSchema,
  chunk: readonly Row[],
  events: readonly ChangeEvent[],
): Row[] | null {
  if (events.length === 0) return [...chunk];
  const rows = new Multiset(table);
  for (const row of chunk) if (!rows.add(row)) return null;
  for (const event of events) {
    switch (event.op) {
      case 'c':
        if (!rows.add(event.after)) return null;
        break;
      case 'u': {
        const old = event.before ? rows.take(event.before) : null;
        if (old === null) return null;
        // Columns left out of `after` (unchanged TOAST) keep the old row's values.
        if (!rows.add({ ...old, ...event.after })) return null;
        break;
      }
      case 'd':
        if (rows.take(event.before) === null) return null;
        break;
      case 't':
        rows.clear();
        break;
      case 'r':
        break;
    }
  }
  return rows.values();
}

class Multiset {
  readonly #table: TableSchema;
  readonly #rows = new Map<string, Row[]>();

  constructor(table: TableSchema) {
    this.#table = table;
  }

  add(row: Row): boolean {
    const key = rowString(this.#table, row);
    if (key === null) return false;
    const same = this.#rows.get(key);
    if (same) same.push(row);
    else this.#rows.set(key, [row]);
    return true;
  }

  /** Removes one row equal to `row` and returns it; null when there is none. */
  take(row: Row): Row | null {
    const key = rowString(this.#table, row);
    const same = key === null ? undefined : this.#rows.get(key);
    const taken = same?.pop() ?? null;
    if (same?.length === 0 && key !== null) this.#rows.delete(key);
    return taken;
  }

  clear(): void {
    this.#rows.clear();
  }

  values(): Row[] {
    return [...this.#rows.values()].flat();
  }
}
