/**
 * Folds a snapshot chunk with the streamed changes of its window, so the chunk yields each of its rows as
 * the row stands at HIGH.
 *
 * Why a fold and not "drop the keys changed in the window" (the original DBLog rule): an UPDATE that leaves a
 * TOASTed column unchanged does not carry that column, so the chunk's copy may be the only full copy of the
 * row in the whole stream; dropping it leaves a replica that never gets the value. Every streamed event
 * carries absolute values, so applying the window's events in stream order on top of the chunk row gives
 * the row's state at the last change whether or not the chunk's SELECT already saw some of those changes:
 * a column one of the events sets ends with the last value set (the source's value at that point), and a
 * column none of them sets did not change during the window, so the chunk's value is current.
 *
 * Only keys the chunk read are folded and yielded. A key of the table that changed in the window but is not
 * in the chunk is outside the chunk's key range, or was inserted (or re-inserted) after the chunk's snapshot:
 * the stream carries it whole, so the chunk has nothing to add.
 *
 * Except when the chunk replaces the replica's copy of the table (`adopt`: the first chunk of a re-snapshot
 * after a lost slot, which goes out after a snapshot truncate). The truncate is positioned at HIGH, after the
 * window's events, so it also clears what those events wrote for keys the chunk did not read; such a key is
 * adopted from an event that carries its row whole (an insert, or an update without unchanged TOAST). A key
 * adopted from outside the chunk's range is yielded at its state at HIGH, which is right, and read again by
 * its own chunk later. A key only seen in an incomplete update cannot be rebuilt: it was in the table before
 * the chunk's snapshot, so it is in the chunk when in its range, and read by a later chunk when not.
 */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { keyString } from './row-key.ts';

/**
 * The chunk's rows after `events` (in stream order); null when the events cannot be matched to rows by key
 * (a truncate, or any change on a table without a key) and the chunk must be read again.
 */
export function foldChunk(
  table: TableSchema,
  chunk: readonly Row[],
  events: readonly ChangeEvent[],
  adopt = false,
): Row[] | null {
  if (events.length === 0) return [...chunk];
  if (table.key.length === 0) return null;
  // Row state by key: a Row, null once deleted; keys absent are not the chunk's and are not yielded.
  const rows = new Map<string, Row | null>();
  for (const row of chunk) {
    const key = keyString(table, row);
    if (key === null) return null;
    rows.set(key, row);
  }
  for (const event of events) {
    switch (event.op) {
      case 'c': {
        const key = keyString(table, event.after);
        if (key !== null && (adopt || rows.has(key))) rows.set(key, event.after);
        break;
      }
      case 'u': {
        const to = keyString(table, event.after);
        if (to === null) return null;
        // `before` is present when the key changed (or with a full old image); otherwise the key is after's.
        const from = (event.before ? keyString(table, event.before) : null) ?? to;
        const complete = event.unchanged.length === 0;
        if (rows.has(from)) {
          const previous = rows.get(from) ?? null;
          // Columns left out of `after` (unchanged TOAST) keep the previous row's values.
          const next = previous ? { ...previous, ...event.after } : complete ? event.after : null;
          if (from !== to) rows.set(from, null);
          // An update of a row the fold holds as deleted cannot be rebuilt whole: the stream alone decides.
          if (next === null) rows.delete(to);
          else rows.set(to, next);
        } else if (rows.has(to) || adopt) {
          // A row moved onto a key of the chunk from elsewhere: kept only if the event carries it whole.
          if (complete) rows.set(to, event.after);
          else rows.delete(to);
        }
        break;
      }
      case 'd': {
        const key = keyString(table, event.before);
        if (key !== null && rows.has(key)) rows.set(key, null);
        break;
      }
      case 't':
        return null;
      case 'r':
        break;
    }
  }
  const result: Row[] = [];
  for (const row of rows.values()) if (row !== null) result.push(row);
  return result;
}
