/**
 * The Avro schemas of one captured table, derived from its TableSchema, and the way back.
 *
 * Value schema: a Debezium-like envelope `{ before, after, op, source, transaction, unchanged, beforeAbsent,
 * afterAbsent }`. `before`/`after` are `null | Row` where Row has one field per column. Type mapping:
 * boolean→boolean, int16/int32→int, int64/uint64→long (bigint; uint64 as the same 64 bits, see long-type.ts),
 * float32→float, float64→double, bytes→bytes, array→array of the element's mapping with nullable elements.
 * Every other kind (bit as its `0101` text, decimal, string, uuid, json, date, time, timestamp, timestamptz, interval, enum, set, text)
 * travels as a string holding the exact canonical text the connector produced (decimal digits, ISO-8601 with
 * microseconds, ...), so nothing is rounded and no logical-type conversion can shift a value.
 *
 * A row may not carry every column: a key-only old image has only the key, and PostgreSQL does not send an
 * unchanged TOAST value. Such a field holds the empty record `cdc.event.Absent`, so every Row field is a union
 * of its type (with `null` first when nullable) and that record: a reader that knows nothing of our
 * extensions sees explicitly that the value is not there, never a null or zero it could take for data. Which
 * columns PostgreSQL TOASTs depends on storage settings the neutral type does not show, and any non-key column
 * can be missing from a key-only image, so every column gets the branch. `beforeAbsent`/`afterAbsent` also
 * list those columns by name (events written before the Absent branch existed carry only the lists, with a
 * null or zero placeholder in the field, so our decoder goes by the lists).
 *
 * The table and column metadata ride along as custom properties (`cdc.*`) so a consumer rebuilds the exact
 * TableSchema from the writer schema alone. The Parsing Canonical Form, and so the fingerprint, drops custom
 * properties; a change of metadata only (varchar(40) → varchar(80)) would then keep its fingerprint. The record
 * names therefore carry a digest of the metadata, so each distinct TableSchema has its own fingerprint.
 *
 * A column's constant default rides as `cdc.default` (its canonical text, only when it has one) in the value
 * schema; the key schema leaves defaults out, so message keys do not change when a key column's default does.
 * The user-defined types a PostgreSQL table uses ride as `cdc.userTypes` on the value schema only, and only
 * when there are some, so the schemas of every other table are unchanged.
 */
import { createHash } from 'node:crypto';
import { avroNamespace, uniqueAvroNames } from './names.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../events/table-schema.ts';
import { USER_TYPE_KINDS, type UserType } from '../events/user-type.ts';
import { CdcError } from '../../common/errors.ts';

export const SOURCE_SCHEMA = {
  type: 'record',
  name: 'cdc.event.Source',
  fields: [
    { name: 'connector', type: 'string' },
    { name: 'position', type: 'string' },
    { name: 'txId', type: ['null', 'string'], default: null },
    { name: 'commitTimeMicros', type: 'long' },
    { name: 'origin', type: ['null', 'string'], default: null },
    { name: 'snapshot', type: 'boolean' },
    // Added later, with a default: events written before decode by their own (writer) schema without it.
    { name: 'originCommit', type: ['null', 'string'], default: null },
  ],
} as const;

export const TRANSACTION_SCHEMA = {
  type: 'record',
  name: 'cdc.event.Transaction',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'index', type: 'long' },
    { name: 'total', type: ['null', 'long'], default: null },
  ],
} as const;

export function avroTypeOf(type: ColumnType): unknown {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
    case 'int32':
      return 'int';
    case 'int64':
    case 'uint64':
      return 'long';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'bytes':
      return 'bytes';
    case 'array':
      return { type: 'array', items: ['null', avroTypeOf(type.element)] };
    case 'bit':
    case 'decimal':
    case 'string':
    case 'uuid':
    case 'json':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'interval':
    case 'enum':
    case 'set':
    case 'text':
      return 'string';
  }
}

/** JSON with object keys sorted, so equal metadata always renders (and digests) the same. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function digest(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}

/** What a Row field holds for a column the row did not carry (see the top of this file). */
export const ABSENT_SCHEMA = {
  type: 'record',
  name: 'cdc.event.Absent',
  doc: 'The source did not send this value: an unchanged TOAST value, or a column outside a key-only old image. Not NULL, and not a value.',
  fields: [],
} as const;

/**
 * A column's field: in the value schema's Row (`absent` set) its type is a union with the Absent record, the
 * record defined by the first field and named by the others; key fields are always present and plain.
 */
function columnField(
  column: ColumnSchema,
  name: string,
  absent: 'define' | 'reference' | 'none' = 'none',
): Record<string, unknown> {
  const value = avroTypeOf(column.type);
  const branches = column.nullable ? ['null', value] : [value];
  if (absent !== 'none') branches.push(absent === 'define' ? ABSENT_SCHEMA : ABSENT_SCHEMA.name);
  return {
    name,
    type: branches.length === 1 ? value : branches,
    ...(column.nullable ? { default: null } : {}),
    'cdc.name': column.name,
    'cdc.type': JSON.parse(stableJson(column.type)) as unknown,
    'cdc.sourceType': column.sourceType,
    'cdc.nullable': column.nullable,
    ...(column.default !== undefined ? { 'cdc.default': column.default } : {}),
  };
}

function tableNamespace(table: TableSchema): string {
  return avroNamespace(['cdc', table.database, table.schema, table.table]);
}

function tableProperties(table: TableSchema): Record<string, unknown> {
  return {
    'cdc.database': table.database,
    'cdc.schema': table.schema,
    'cdc.table': table.table,
    'cdc.dialect': table.dialect,
    'cdc.key': [...table.key],
    'cdc.beforeImage': table.beforeImage,
  };
}

export function valueSchemaOf(table: TableSchema): Record<string, unknown> {
  const names = uniqueAvroNames(table.columns.map((column) => column.name));
  const namespace = tableNamespace(table);
  const row = {
    type: 'record',
    name: `${namespace}.Row`,
    fields: table.columns.map((column, i) =>
      columnField(column, names[i]!, i === 0 ? 'define' : 'reference'),
    ),
  };
  const absent = { type: 'array', items: 'string' };
  return {
    type: 'record',
    name: `${namespace}.Envelope_${digest(table)}`,
    ...tableProperties(table),
    ...(table.userTypes ? { 'cdc.userTypes': JSON.parse(stableJson(table.userTypes)) as unknown } : {}),
    fields: [
      { name: 'before', type: ['null', row], default: null },
      { name: 'after', type: ['null', `${namespace}.Row`], default: null },
      { name: 'op', type: 'string' },
      { name: 'source', type: SOURCE_SCHEMA },
      { name: 'transaction', type: ['null', TRANSACTION_SCHEMA], default: null },
      { name: 'unchanged', type: absent },
      { name: 'beforeAbsent', type: absent },
      { name: 'afterAbsent', type: absent },
    ],
  };
}

/** The key schema: a record of the key columns, or null for a table without a key. */
export function keySchemaOf(table: TableSchema): Record<string, unknown> | null {
  if (table.key.length === 0) return null;
  // Defaults stay out of the key schema: its fingerprint is part of every message key, which must not
  // change (partition, compaction) because a key column's default did.
  const keyColumns = keyColumnsOf(table).map(withoutDefault);
  const names = uniqueAvroNames(keyColumns.map((column) => column.name));
  const identity = {
    database: table.database,
    schema: table.schema,
    table: table.table,
    columns: keyColumns,
  };
  return {
    type: 'record',
    name: `${tableNamespace(table)}.Key_${digest(identity)}`,
    ...tableProperties(table),
    fields: keyColumns.map((column, i) => columnField(column, names[i]!)),
  };
}

export function keyColumnsOf(table: TableSchema): ColumnSchema[] {
  return table.key.map((name) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column)
      throw new CdcError(
        'INTERNAL',
        `key column ${JSON.stringify(name)} is not a column of ${table.schema}.${table.table}`,
      );
    return column;
  });
}

function withoutDefault(column: ColumnSchema): ColumnSchema {
  if (column.default === undefined) return column;
  const { default: _default, ...rest } = column;
  return rest;
}

/** A TableSchema rebuilt from a value schema's properties, with the Avro field name of each column. */
export interface DecodedTable {
  readonly table: TableSchema;
  readonly avroNames: readonly string[];
}

export function tableFromValueSchema(schema: unknown): DecodedTable {
  const envelope = asObject(schema, 'value schema');
  const fields = asArray(envelope.fields, 'value schema fields').map((field) =>
    asObject(field, 'envelope field'),
  );
  const before = fields.find((field) => field.name === 'before');
  const rowSchema =
    before &&
    asArray(before.type, 'before type').find((branch) => typeof branch === 'object' && branch !== null);
  const row = asObject(rowSchema, 'Row record');
  const columns: ColumnSchema[] = [];
  const avroNames: string[] = [];
  for (const field of asArray(row.fields, 'Row fields').map((f) => asObject(f, 'Row field'))) {
    avroNames.push(asString(field.name, 'field name'));
    columns.push({
      name: asString(field['cdc.name'], 'cdc.name'),
      type: asObject(field['cdc.type'], 'cdc.type') as unknown as ColumnType,
      sourceType: asString(field['cdc.sourceType'], 'cdc.sourceType'),
      nullable: field['cdc.nullable'] === true,
      ...(typeof field['cdc.default'] === 'string' ? { default: field['cdc.default'] } : {}),
    });
  }
  const dialect = asString(envelope['cdc.dialect'], 'cdc.dialect');
  const beforeImage = asString(envelope['cdc.beforeImage'], 'cdc.beforeImage');
  if (
    (dialect !== 'postgres' && dialect !== 'mysql') ||
    (beforeImage !== 'full' && beforeImage !== 'key' && beforeImage !== 'none')
  ) {
    throw new CdcError(
      'SCHEMA_INCOMPATIBLE',
      `value schema has an unknown dialect or before image: ${dialect}, ${beforeImage}`,
    );
  }
  const table: TableSchema = {
    database: asString(envelope['cdc.database'], 'cdc.database'),
    schema: asString(envelope['cdc.schema'], 'cdc.schema'),
    table: asString(envelope['cdc.table'], 'cdc.table'),
    dialect,
    columns,
    key: asArray(envelope['cdc.key'], 'cdc.key').map((k) => asString(k, 'cdc.key entry')),
    beforeImage,
    ...(envelope['cdc.userTypes'] !== undefined ? { userTypes: userTypesOf(envelope['cdc.userTypes']) } : {}),
  };
  return { table, avroNames };
}

/** The carried type descriptions, checked as far as a replica relies on them (kind, schema and name). */
function userTypesOf(value: unknown): UserType[] {
  return asArray(value, 'cdc.userTypes').map((entry) => {
    const type = asObject(entry, 'cdc.userTypes entry');
    const kind = asString(type.kind, 'user type kind');
    asString(type.schema, 'user type schema');
    asString(type.name, 'user type name');
    if (!(USER_TYPE_KINDS as readonly string[]).includes(kind))
      throw new CdcError('SCHEMA_INCOMPATIBLE', `value schema names an unknown user type kind: ${kind}`);
    return type as unknown as UserType;
  });
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CdcError(
      'SCHEMA_INCOMPATIBLE',
      `not a change-event schema: ${what} is missing or not an object`,
    );
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value))
    throw new CdcError(
      'SCHEMA_INCOMPATIBLE',
      `not a change-event schema: ${what} is missing or not an array`,
    );
  return value;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string')
    throw new CdcError(
      'SCHEMA_INCOMPATIBLE',
      `not a change-event schema: ${what} is missing or not a string`,
    );
  return value;
}
