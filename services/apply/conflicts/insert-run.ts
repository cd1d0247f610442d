/**
 * Consecutive inserts of one keyed table within a source transaction, with conflict handling: the rows whose
 * key has neither a row nor a tombstone go out as one multi-row insert (what the conflict path does with each
 * of them anyway, without a conflict to record), and the first row with either stops the statement and is
 * decided on its own, as every change is. Two round trips per statement (the keys' locks, then the insert)
 * instead of three per row.
 */
import type { InsertEvent, Row } from '../../../schemas/events/change-event.ts';
import type { CdcError } from '../../../common/errors.ts';
import type { StatementSyntax, TableShape, TargetConnection } from '../sql-dialect.ts';
import type { ConflictDialect } from './conflict-dialect.ts';
import { pickKey, tableName } from './check.ts';
import { keyJson } from './values-json.ts';

const MAX_ROWS_PER_STATEMENT = 1_000;

export async function insertRun<C extends TargetConnection>(
  parts: { readonly syntax: StatementSyntax; readonly dialect: ConflictDialect<C> },
  connection: C,
  shape: TableShape,
  events: readonly InsertEvent[],
  lockKeys: (keys: readonly Row[]) => Promise<void>,
  writeOne: (event: InsertEvent) => Promise<CdcError | null>,
): Promise<CdcError | null> {
  const { syntax, dialect } = parts;
  // Each row's columns and its tombstone key's columns are parameters.
  const perRow = shape.table.columns.length + shape.table.key.length;
  const perStatement = Math.max(
    1,
    Math.min(MAX_ROWS_PER_STATEMENT, Math.floor((syntax.maxParameters - 1) / perRow)),
  );
  for (let start = 0; start < events.length;) {
    const batch = distinctKeys(shape, events, start, perStatement);
    await lockKeys(batch.map((event) => pickKey(shape, event.after)));
    const answer = await dialect.insertNew(
      connection,
      shape,
      tableName(shape),
      batch.map((event) => event.after),
    );
    if (answer === null) {
      for (const event of events.slice(start)) {
        const failed = await writeOne(event);
        if (failed) return failed;
      }
      return null;
    }
    // A row before the stop that was not inserted violated another unique key, or its key was written by a
    // local session meanwhile: it is decided now, on its own, from what it finds.
    for (let index = 0; index < answer.stop; index++) {
      if (answer.inserted.has(index)) continue;
      const failed = await writeOne(batch[index]!);
      if (failed) return failed;
    }
    if (answer.stop < batch.length) {
      const failed = await writeOne(batch[answer.stop]!);
      if (failed) return failed;
      start += answer.stop + 1;
    } else start += batch.length;
  }
  return null;
}

/** Up to `limit` events from `start` whose keys differ (a key inserted twice is decided the second time). */
function distinctKeys(
  shape: TableShape,
  events: readonly InsertEvent[],
  start: number,
  limit: number,
): InsertEvent[] {
  const keys = new Set<string>();
  const batch: InsertEvent[] = [];
  for (const event of events.slice(start, start + limit)) {
    const key = keyJson(shape.table.key, pickKey(shape, event.after));
    if (keys.has(key)) break;
    keys.add(key);
    batch.push(event);
  }
  return batch;
}
