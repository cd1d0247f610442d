/**
 * The SQL sink's write path with conflict handling: each source transaction in a target transaction of its own
 * (its commit time is the version of the rows it writes), consecutive inserts of one keyed table decided
 * together by the conflict writer, and every other change decided on its own, under a savepoint when changes
 * are isolated event by event. The sink's own steps (open and commit, table shapes, error classification) are
 * passed in.
 */
import type { CdcError } from '../../common/errors.ts';
import type { ChangeEvent, InsertEvent } from '../../schemas/events/change-event.ts';
import type { ConflictWriter } from './conflicts/conflict-writer.ts';
import type { EventFailure } from './sink.ts';
import type { TableShape, TargetConnection } from './sql-dialect.ts';
import { SAVEPOINT, sql, type Item, type Progress } from './sink-progress.ts';
import type { TableSchema } from '../../schemas/events/table-schema.ts';
import { stopsApplying } from './target-errors.ts';

/** What the conflict path takes from the sink. */
export interface SinkSteps<C extends TargetConnection> {
  /** The event's table shape, created or evolved when needed, with a target transaction open. */
  shapeFor(connection: C, progress: Progress, event: ChangeEvent): Promise<TableShape>;
  /** Commits the open target transaction, if any, with its position. */
  commit(connection: C, progress: Progress): Promise<void>;
  classifyEvent(error: unknown, event: ChangeEvent): CdcError;
  lookup(table: TableSchema): TableShape | null;
  discardPending(): void;
  /** A change written as without conflict handling. */
  writePlain(connection: C, shape: TableShape, event: ChangeEvent): Promise<void>;
}

export class CheckedWrites<C extends TargetConnection> {
  private readonly conflicts: ConflictWriter<C>;
  private readonly steps: SinkSteps<C>;

  constructor(conflicts: ConflictWriter<C>, steps: SinkSteps<C>) {
    this.conflicts = conflicts;
    this.steps = steps;
  }

  /**
   * With conflict handling: each source transaction commits on its own, marked with its own commit time and
   * origin, because the commit time a row keeps is its version, compared by every node of the link.
   */
  async write(
    connection: C,
    progress: Progress,
    items: readonly Item[],
    onEventFailure: ((failure: EventFailure) => Promise<void>) | undefined,
  ): Promise<number> {
    let failed = 0;
    // The target's clock, read once the batch is here, against the commit times last-writer-wins compares.
    await this.conflicts.skew.measure(
      connection,
      items.map((item) => item.event),
    );
    for (let start = 0; start < items.length;) {
      let end = start + 1;
      while (end < items.length && items[end]!.transactionIndex === items[start]!.transactionIndex) end++;
      await this.steps.commit(connection, progress);
      progress.last = items[end - 1]!.event;
      for (let index = start; index < end;) {
        const item = items[index]!;
        // Event by event (onEventFailure) each change is isolated under its own savepoint; otherwise
        // consecutive inserts of one table go to the conflict writer together.
        const inserts = onEventFailure ? 0 : await this.inserts(connection, progress, items, index, end);
        if (inserts > 0) {
          index += inserts;
          continue;
        }
        if (!(await this.writeOne(connection, progress, item, onEventFailure))) failed++;
        progress.handled = item.event;
        index++;
      }
      start = end;
    }
    return failed;
  }

  /**
   * The inserts of one keyed table from `items[index]` on (before `end`), written through the conflict writer
   * together (it decides each as on its own); how many, 0 when that item is not one. A change to go to the dead
   * letters fails the target transaction, as in `writeOne` without onEventFailure.
   */
  private async inserts(
    connection: C,
    progress: Progress,
    items: readonly Item[],
    index: number,
    end: number,
  ): Promise<number> {
    const first = items[index]!.event;
    if (first.op !== 'c') return 0;
    const shape = await this.steps.shapeFor(connection, progress, first);
    if (shape.table.key.length === 0) return 0;
    const inserts: InsertEvent[] = [first];
    for (let next = index + 1; next < end; next++) {
      const event = items[next]!.event;
      if (event.op !== 'c' || this.steps.lookup(event.table) !== shape) break;
      inserts.push(event);
    }
    await this.conflicts.collectIfDue(connection);
    let rejected: CdcError | null;
    try {
      rejected = await this.conflicts.writeInserts(connection, progress.link, shape, inserts);
    } catch (error) {
      throw inserts.length === 1 ? this.steps.classifyEvent(error, first) : error;
    }
    if (rejected !== null) throw rejected;
    progress.handled = inserts.at(-1)!;
    return inserts.length;
  }

  /** One event through conflict handling; false when it went to the dead letters. */
  private async writeOne(
    connection: C,
    progress: Progress,
    item: Item,
    onEventFailure: ((failure: EventFailure) => Promise<void>) | undefined,
  ): Promise<boolean> {
    const event = item.event;
    const shape = await this.steps.shapeFor(connection, progress, event);
    await this.conflicts.collectIfDue(connection);
    if (onEventFailure) await connection.run(sql(`SAVEPOINT ${SAVEPOINT}`));
    let rejected: CdcError | null;
    try {
      // Keyless tables, snapshot reads and truncates have no row version to decide on: written as before.
      if (shape.table.key.length > 0 && (event.op === 'c' || event.op === 'u' || event.op === 'd'))
        rejected = await this.conflicts.write(connection, progress.link, shape, event);
      else {
        await this.steps.writePlain(connection, shape, event);
        rejected = null;
      }
    } catch (error) {
      const failure = this.steps.classifyEvent(error, event);
      if (!onEventFailure || failure.retriable || stopsApplying(failure)) throw failure;
      await connection.run(sql(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`));
      this.steps.discardPending();
      rejected = failure;
    }
    if (rejected === null) {
      if (onEventFailure) await connection.run(sql(`RELEASE SAVEPOINT ${SAVEPOINT}`));
      return true;
    }
    // A rejected conflict is recorded already, and nothing of the change was written.
    if (!onEventFailure) throw rejected;
    await onEventFailure({ ...item, error: rejected });
    return false;
  }
}
