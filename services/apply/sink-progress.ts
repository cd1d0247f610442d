/**
 * What the SQL sink keeps while it writes one batch: the items (events with their place in their source
 * transaction) and the target transaction in progress; shared by its plain and conflict-checked write paths.
 */
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import type { Statement } from './sql-dialect.ts';

export type Item = {
  readonly event: ChangeEvent;
  readonly transactionIndex: number;
  readonly eventIndex: number;
};

/** The target transaction in progress: whether one is open, and the last event handled inside it. */
export interface Progress {
  /** The row of the applied-position table: the stream's, or dead-letter replay's own (positionKey). */
  readonly stream: string;
  /** The stream (link) applied, as the conflict log names it. */
  readonly link: string;
  /**
   * The last event the open target transaction is to hold (PostgreSQL marks the commit with its position and
   * time): the batch's (of its run of one commit mark, see `markRuns`), or with conflict handling its source
   * transaction's.
   */
  last: ChangeEvent;
  open: boolean;
  handled: ChangeEvent | null;
}

export const SAVEPOINT = 'cdc_event';

export function sql(text: string): Statement {
  return { text, values: [] };
}
