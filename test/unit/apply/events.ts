/**
 * Builds change events for apply tests: a table description, and events with positions that follow one
 * another like a PostgreSQL source's (commit LSN, index within the transaction).
 */
import type { ChangeEvent, Row, TransactionInfo } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../../../schemas/positions/lsn.ts';
import type { EventPosition } from '../../../schemas/positions/position.ts';
import type { ConsumedEvent } from '../../../services/apply/event-feed.ts';

export function column(
  name: string,
  sourceType: string,
  type: ColumnType = { kind: 'text' },
  nullable = true,
): ColumnSchema {
  return { name, sourceType, type, nullable };
}

export function pgTable(
  schema: string,
  table: string,
  columns: readonly ColumnSchema[],
  key: readonly string[],
): TableSchema {
  return { database: 'cdc_source', schema, table, dialect: 'postgres', columns, key, beforeImage: 'key' };
}

export function pgPosition(lsn: bigint, index: number): EventPosition {
  return { commit: { kind: 'pg', lsn: lsnFromBigInt(lsn) }, index };
}

/** One change inside a transaction under construction. */
export type Change =
  | { op: 'c' | 'r'; table: TableSchema; after: Row }
  | { op: 'u'; table: TableSchema; before?: Row | null; after: Row; unchanged?: readonly string[] }
  | { op: 'd'; table: TableSchema; before: Row }
  | { op: 't'; table: TableSchema };

/**
 * Turns changes into the events of one source transaction committed at `lsn` (microsecond commit time
 * derived from it, so it is distinct per transaction). `totalOnLastOnly` mimics a very large transaction.
 */
export function transaction(
  lsn: bigint,
  changes: readonly Change[],
  options: { totalOnLastOnly?: boolean; connector?: string } = {},
): ChangeEvent[] {
  const txId = `tx${lsn}`;
  return changes.map((change, index) => {
    const transaction: TransactionInfo = {
      id: txId,
      index,
      total: options.totalOnLastOnly && index < changes.length - 1 ? null : changes.length,
    };
    const base = {
      table: change.table,
      transaction,
      source: {
        connector: options.connector ?? 'test',
        position: pgPosition(lsn, index),
        txId,
        commitTimeMicros: 1_700_000_000_000_000n + lsn,
        origin: null,
        snapshot: false,
      },
    };
    switch (change.op) {
      case 'c':
      case 'r':
        return { ...base, op: change.op, before: null, after: change.after };
      case 'u':
        return {
          ...base,
          op: 'u',
          before: change.before ?? null,
          after: change.after,
          unchanged: change.unchanged ?? [],
        };
      case 'd':
        return { ...base, op: 'd', before: change.before, after: null };
      case 't':
        return { ...base, op: 't', before: null, after: null };
    }
  });
}

/** A snapshot read: no transaction metadata, a unit of its own. */
export function snapshotRead(lsn: bigint, index: number, table: TableSchema, after: Row): ChangeEvent {
  return {
    op: 'r',
    table,
    before: null,
    after,
    transaction: null,
    source: {
      connector: 'test',
      position: pgPosition(lsn, index),
      txId: null,
      commitTimeMicros: 1_700_000_000_000_000n + lsn,
      origin: null,
      snapshot: true,
    },
  };
}

let offset = 0;

export function consumed(events: readonly ChangeEvent[]): ConsumedEvent[] {
  return events.map((event) => ({ event, topic: 'test', partition: 0, offset: String(offset++) }));
}
