/**
 * Turns decoded pgoutput row messages into change events. Tuples arrive with every value as the server's
 * text (type parsers overridden), `null` for SQL NULL, and `undefined` for an unchanged TOAST value that the
 * server did not send: that column goes to `unchanged` and stays out of `after`, never a placeholder.
 */
import type { Pgoutput } from 'pg-logical-replication';
import type {
  ChangeEvent,
  Row,
  SourceInfo,
  TransactionInfo,
  Value,
} from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError, asCdcError } from '../../../common/errors.ts';
import { decodeValue } from '../types/decode-value.ts';
import { setColumn } from '../../../schemas/events/set-column.ts';

export interface EventContext {
  readonly table: TableSchema;
  readonly source: SourceInfo;
  readonly transaction: TransactionInfo | null;
}

type Tuple = Readonly<Record<string, unknown>>;

export function rowChangeEvent(
  message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  context: EventContext,
): ChangeEvent {
  // Each event is written out whole (no spread of a shared base): one object per event, of one shape per op.
  const { table, source, transaction } = context;
  switch (message.tag) {
    case 'insert':
      return {
        table,
        source,
        transaction,
        op: 'c',
        before: null,
        after: decodeTuple(table, message.new, null),
      };
    case 'update': {
      const unchanged: string[] = [];
      const after = decodeTuple(table, message.new, unchanged);
      const old = message.old ?? message.key;
      const before = old ? decodeTuple(table, old, null) : null;
      return { table, source, transaction, op: 'u', before, after, unchanged };
    }
    case 'delete': {
      const old = message.old ?? message.key;
      if (!old) {
        throw new CdcError(
          'DECODE_FAILED',
          `delete on ${table.schema}.${table.table} carries no old row or key`,
          {
            table: `${table.schema}.${table.table}`,
          },
        );
      }
      return { table, source, transaction, op: 'd', before: decodeTuple(table, old, null), after: null };
    }
  }
}

export function truncateEvent(context: EventContext): ChangeEvent {
  return {
    table: context.table,
    source: context.source,
    transaction: context.transaction,
    op: 't',
    before: null,
    after: null,
  };
}

/**
 * Decodes the columns present in the tuple; absent columns (key-only images) are left out. A column whose TOAST
 * value was not sent is left out too, and named in `unchanged` when the caller keeps that list.
 */
export function decodeTuple(table: TableSchema, tuple: Tuple, unchanged: string[] | null): Row {
  const row: Record<string, Value> = {};
  for (const column of table.columns) {
    if (!(column.name in tuple)) continue;
    const raw = tuple[column.name];
    if (raw === undefined) {
      unchanged?.push(column.name);
      continue;
    }
    if (raw !== null && typeof raw !== 'string') {
      throw new CdcError(
        'DECODE_FAILED',
        `column ${column.name} of ${table.schema}.${table.table} arrived in binary form`,
        { column: column.name },
      );
    }
    try {
      setColumn(row, column.name, decodeValue(column.type, raw));
    } catch (error) {
      throw asCdcError(
        error,
        'DECODE_FAILED',
        `cannot decode column ${column.name} (${column.sourceType}) of ${table.schema}.${table.table}`,
        {
          column: column.name,
        },
      );
    }
  }
  return row;
}
