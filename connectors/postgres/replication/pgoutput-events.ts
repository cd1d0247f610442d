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
  const base = { table: context.table, source: context.source, transaction: context.transaction };
  switch (message.tag) {
    case 'insert':
      return { ...base, op: 'c', before: null, after: decodeTuple(context.table, message.new).row };
    case 'update': {
      const { row, unchanged } = decodeTuple(context.table, message.new);
      const old = message.old ?? message.key;
      return {
        ...base,
        op: 'u',
        before: old ? decodeTuple(context.table, old).row : null,
        after: row,
        unchanged,
      };
    }
    case 'delete': {
      const old = message.old ?? message.key;
      if (!old) {
        throw new CdcError(
          'DECODE_FAILED',
          `delete on ${context.table.schema}.${context.table.table} carries no old row or key`,
          {
            table: `${context.table.schema}.${context.table.table}`,
          },
        );
      }
      return { ...base, op: 'd', before: decodeTuple(context.table, old).row, after: null };
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

/** Decodes the columns present in the tuple; absent columns (key-only images) are left out. */
export function decodeTuple(table: TableSchema, tuple: Tuple): { row: Row; unchanged: string[] } {
  const row: Record<string, Value> = {};
  const unchanged: string[] = [];
  for (const column of table.columns) {
    if (!(column.name in tuple)) continue;
    const raw = tuple[column.name];
    if (raw === undefined) {
      unchanged.push(column.name);
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
      row[column.name] = decodeValue(column.type, raw);
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
  return { row, unchanged };
}
