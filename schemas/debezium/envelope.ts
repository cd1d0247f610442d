/**
 * One change event as Debezium 3.x writes it to a per-table topic: the key (a struct of the primary-key
 * columns) and the value envelope `{before, after, source, transaction, op, ts_ms, ts_us, ts_ns}`, each as its
 * Kafka Connect schema and payload; the caller writes them as JsonConverter text (`jsonText`) or as Avro
 * (avro-form.ts). Pure: the caller gives the processing time and the transaction counters
 * (transaction-metadata.ts).
 */
import type { ChangeEvent, Row, Value } from '../events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../events/table-schema.ts';
import { CdcError } from '../../common/errors.ts';
import { columnField, columnMapping, UnrepresentableValue } from './column-types.ts';
import {
  field,
  plain,
  struct,
  type ConnectSchema,
  type JsonValue,
  type RecordPart,
} from './connect-schema.ts';
import { sourceBlock } from './source-block.ts';

export interface DebeziumOptions {
  /** Debezium's `topic.prefix`: names the topics and fills `source.name`. */
  readonly prefix: string;
  /** Written as `source.version`. */
  readonly version: string;
  /** Which Debezium connector a binlog source is written as (`source.connector`, the source struct's name). */
  readonly binlogFlavor: 'mysql' | 'mariadb';
}

/** Where the event sits in its source transaction, for the `transaction` block. */
export interface TransactionOrder {
  readonly id: string;
  readonly totalOrder: number;
  readonly dataCollectionOrder: number;
}

export interface DebeziumRecord {
  readonly topic: string;
  /** Null for a table without a key. */
  readonly key: RecordPart | null;
  /** Null for a tombstone. */
  readonly value: RecordPart | null;
}

/** What Debezium puts in a column whose value the source did not send (PostgreSQL unchanged TOAST). */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';

const ILLEGAL_TOPIC_CHARS = /[^A-Za-z0-9._-]/g;

/** `<prefix>.<schema>.<table>` (PostgreSQL) or `<prefix>.<database>.<table>` (MariaDB/MySQL), as Debezium names them. */
export function tableTopic(prefix: string, table: { schema: string; table: string }): string {
  // Debezium replaces characters Kafka refuses in topic names with '_'.
  return `${prefix}.${table.schema}.${table.table}`.replace(ILLEGAL_TOPIC_CHARS, '_');
}

/** `schema.table` / `database.table`: Debezium's data collection name (transaction metadata). */
export function dataCollection(table: { schema: string; table: string }): string {
  return `${table.schema}.${table.table}`;
}

interface TableShapes {
  readonly topic: string;
  readonly keySchema: ConnectSchema;
  readonly valueSchema: ConnectSchema;
  readonly envelopeSchema: ConnectSchema;
}

const shapesCache = new WeakMap<TableSchema, Map<string, TableShapes>>();

function shapes(table: TableSchema, options: DebeziumOptions): TableShapes {
  let byPrefix = shapesCache.get(table);
  if (!byPrefix) shapesCache.set(table, (byPrefix = new Map<string, TableShapes>()));
  const cacheKey = `${options.prefix}|${options.binlogFlavor}`;
  const cached = byPrefix.get(cacheKey);
  if (cached) return cached;
  const topic = tableTopic(options.prefix, table);
  const keyColumns = table.key.map((name) => column(table, name));
  const keySchema = struct(
    `${topic}.Key`,
    keyColumns.map((c) => ({ ...columnField(c, table.dialect), optional: false })),
    false,
  );
  // With only the key in `before` (no full old image), the other columns of a delete's `before` are null:
  // they are optional in the schema then, so JsonConverter reads them back.
  const partialBefore = table.beforeImage !== 'full';
  const valueFields = table.columns.map((c) => {
    const schema = columnField(c, table.dialect);
    return partialBefore && !table.key.includes(c.name) ? { ...schema, optional: true } : schema;
  });
  const valueSchema = struct(`${topic}.Value`, valueFields, true);
  const transaction = struct(
    'event.block',
    [
      field('id', plain('string', false)),
      field('total_order', plain('int64', false)),
      field('data_collection_order', plain('int64', false)),
    ],
    true,
    1,
  );
  const envelopeSchema = struct(
    `${topic}.Envelope`,
    [
      field('before', valueSchema),
      field('after', valueSchema),
      field('source', sourceBlock(table, options.binlogFlavor).schema),
      field('transaction', transaction),
      field('op', plain('string', false)),
      field('ts_ms', plain('int64', true)),
      field('ts_us', plain('int64', true)),
      field('ts_ns', plain('int64', true)),
    ],
    false,
    2,
  );
  const made = { topic, keySchema, valueSchema, envelopeSchema };
  byPrefix.set(cacheKey, made);
  return made;
}

function column(table: TableSchema, name: string): ColumnSchema {
  const found = table.columns.find((c) => c.name === name);
  if (!found)
    throw new CdcError('INTERNAL', `key column ${name} is not a column of ${table.schema}.${table.table}`, {
      table: `${table.schema}.${table.table}`,
    });
  return found;
}

function rowPayload(
  table: TableSchema,
  columns: readonly ColumnSchema[],
  row: Row,
  unchanged: readonly string[] = [],
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const c of columns) {
    const value: Value | undefined = row[c.name];
    if (value === undefined || value === null) {
      out[c.name] = unchanged.includes(c.name) ? unavailable(c) : null;
      continue;
    }
    try {
      out[c.name] = columnMapping(c.type, table.dialect).value(value);
    } catch (error) {
      if (!(error instanceof UnrepresentableValue)) throw error;
      throw new CdcError(
        'DECODE_FAILED',
        `cannot write ${table.schema}.${table.table}.${c.name} for subscriber topics: ${error.message}`,
        { table: `${table.schema}.${table.table}`, column: c.name },
        { cause: error },
      );
    }
  }
  return out;
}

/** Debezium's placeholder for an unchanged TOAST value, in the column's own representation. */
function unavailable(c: ColumnSchema): JsonValue {
  if (c.type.kind === 'bytes') return Buffer.from(UNAVAILABLE_VALUE, 'utf8').toString('base64');
  if (c.type.kind === 'array') return [UNAVAILABLE_VALUE];
  return UNAVAILABLE_VALUE;
}

/** Data records (tombstones aside) an event becomes: see `debeziumRecords`. */
export function dataRecordCount(event: ChangeEvent): number {
  if (event.op === 't') return 0;
  if (event.op !== 'u' || event.before === null) return 1;
  const before = event.before;
  return sameKey(event.table, before, event.after) ? 1 : 2;
}

function sameKey(table: TableSchema, before: Row, after: Row): boolean {
  return table.key.every((name) => sameValue(before[name] ?? null, after[name] ?? null));
}

function sameValue(a: Value, b: Value): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return typeof a === 'object' || typeof b === 'object' ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

/**
 * The records of one event, in order: none for a truncate (Debezium skips them by default,
 * `skipped.operations=t`); a delete's tombstone (same key, null value) after it when asked for; and, as
 * Debezium does, an update that changes the primary key as a delete of the old key (and its tombstone)
 * followed by a create under the new one, so a subscriber folding by key forgets the old row.
 * `now` is the processing time in microseconds (the envelope's ts_ms, ts_us, ts_ns).
 */
export function debeziumRecords(
  event: ChangeEvent,
  order: TransactionOrder | null,
  now: bigint,
  options: DebeziumOptions & { readonly tombstones: boolean },
): DebeziumRecord[] {
  if (event.op === 't') return [];
  const table = event.table;
  const shape = shapes(table, options);
  const keyColumns = table.key.map((name) => column(table, name));
  const keyOf = (row: Row): RecordPart | null =>
    keyColumns.length === 0 ? null : { schema: shape.keySchema, payload: rowPayload(table, keyColumns, row) };
  const before = event.before === null ? null : rowPayload(table, table.columns, event.before);
  const after =
    event.after === null
      ? null
      : rowPayload(table, table.columns, event.after, event.op === 'u' ? event.unchanged : []);
  const envelope = (
    op: 'c' | 'u' | 'd' | 'r',
    b: Record<string, JsonValue> | null,
    a: Record<string, JsonValue> | null,
  ): RecordPart => ({
    schema: shape.envelopeSchema,
    payload: {
      before: b,
      after: a,
      source: sourceBlock(table, options.binlogFlavor).payload(event, options),
      transaction:
        order === null
          ? null
          : {
              id: order.id,
              total_order: BigInt(order.totalOrder),
              data_collection_order: BigInt(order.dataCollectionOrder),
            },
      op,
      ts_ms: now / 1000n,
      ts_us: now,
      ts_ns: now * 1000n,
    },
  });
  const topic = shape.topic;
  const deleted = (key: RecordPart | null): DebeziumRecord[] => [
    { topic, key, value: envelope('d', before, null) },
    ...(options.tombstones ? [{ topic, key, value: null }] : []),
  ];
  switch (event.op) {
    case 'd':
      return deleted(keyOf(event.before));
    case 'c':
    case 'r':
      return [{ topic, key: keyOf(event.after), value: envelope(event.op, null, after) }];
    case 'u': {
      const key = keyOf(event.after);
      if (event.before === null || sameKey(table, event.before, event.after))
        return [{ topic, key, value: envelope('u', before, after) }];
      return [...deleted(keyOf(event.before)), { topic, key, value: envelope('c', null, after) }];
    }
  }
}
