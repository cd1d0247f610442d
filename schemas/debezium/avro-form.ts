/**
 * A Debezium record part (Connect schema + payload) in Avro, as Kafka Connect's AvroConverter writes it
 * (Confluent's AvroData): a struct is a record named after the Connect name (namespace = all but the last
 * dotted part) with `connect.name`/`connect.version`/`connect.parameters`, an optional field is a union with
 * null first and a null default, int8/int16 are ints marked `connect.type`, Decimal is bytes with the `decimal`
 * logical type, Connect's Date/Time/Timestamp carry Avro's date/time-millis/timestamp-millis logical types.
 * Names Avro refuses (a `-` in a topic prefix, a space in a column) become `_`, as Debezium's
 * `field.name.adjustment.mode=avro` does; `connect.name` keeps the original.
 */
import type avsc from 'avsc';
import { parseAvroType } from '../avro/long-type.ts';
import type { ConnectSchema, JsonValue } from './connect-schema.ts';

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A name Avro accepts: invalid characters as `_`, and a leading digit prefixed with `_`. */
export function avroName(name: string): string {
  if (AVRO_NAME.test(name)) return name;
  const replaced = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(replaced) || replaced === '' ? `_${replaced}` : replaced;
}

const LOGICAL: Readonly<Record<string, string>> = {
  'org.apache.kafka.connect.data.Date': 'date',
  'org.apache.kafka.connect.data.Time': 'time-millis',
  'org.apache.kafka.connect.data.Timestamp': 'timestamp-millis',
};

const PRIMITIVE: Readonly<Record<string, string>> = {
  int8: 'int',
  int16: 'int',
  int32: 'int',
  int64: 'long',
  float32: 'float',
  float64: 'double',
  boolean: 'boolean',
  string: 'string',
  bytes: 'bytes',
};

/** The Avro schema (JSON) of a Connect schema. Named records are defined once, then referred to by name. */
export function avroSchema(schema: ConnectSchema, defined = new Set<string>()): unknown {
  const type = bareType(schema, defined);
  return schema.optional ? ['null', type] : type;
}

function bareType(schema: ConnectSchema, defined: Set<string>): unknown {
  const connect: Record<string, unknown> = {};
  if (schema.version !== undefined) connect['connect.version'] = schema.version;
  if (schema.parameters !== undefined) connect['connect.parameters'] = schema.parameters;
  if (schema.name !== undefined) connect['connect.name'] = schema.name;
  if (schema.type === 'struct') {
    const full = (schema.name ?? 'ConnectDefault').split('.').map(avroName).join('.');
    if (defined.has(full)) return full;
    defined.add(full);
    const dot = full.lastIndexOf('.');
    return {
      type: 'record',
      name: full.slice(dot + 1),
      ...(dot > 0 ? { namespace: full.slice(0, dot) } : {}),
      fields: (schema.fields ?? []).map((field) => ({
        name: avroName(field.field ?? ''),
        type: avroSchema(field, defined),
        ...(field.optional ? { default: null } : {}),
      })),
      ...connect,
    };
  }
  if (schema.type === 'array')
    return { type: 'array', items: avroSchema(schema.items ?? { type: 'string', optional: true }, defined) };
  const primitive = PRIMITIVE[schema.type];
  if (schema.name === 'org.apache.kafka.connect.data.Decimal') {
    const scale = Number(schema.parameters?.scale ?? 0);
    const precision = Number(schema.parameters?.['connect.decimal.precision'] ?? 64);
    return { type: 'bytes', scale, precision, ...connect, logicalType: 'decimal' };
  }
  const logical = schema.name === undefined ? undefined : LOGICAL[schema.name];
  const marks = schema.type === 'int8' || schema.type === 'int16' ? { 'connect.type': schema.type } : {};
  if (Object.keys(connect).length === 0 && Object.keys(marks).length === 0) return primitive;
  return {
    type: primitive,
    ...marks,
    ...connect,
    ...(logical === undefined ? {} : { logicalType: logical }),
  };
}

/** A payload as the Avro datum of `avroSchema(schema)`: base64 bytes as Buffers, int64 as bigint. */
export function avroDatum(schema: ConnectSchema, value: JsonValue): unknown {
  if (value === null) return null;
  switch (schema.type) {
    case 'struct': {
      const object = value as { readonly [key: string]: JsonValue };
      const out: Record<string, unknown> = {};
      for (const field of schema.fields ?? []) {
        const name = field.field ?? '';
        out[avroName(name)] = avroDatum(field, object[name] ?? null);
      }
      return out;
    }
    case 'array':
      return (value as readonly JsonValue[]).map((item) =>
        avroDatum(schema.items ?? { type: 'string', optional: true }, item),
      );
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'int64':
      return typeof value === 'bigint' ? value : BigInt(value as number);
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
    case 'boolean':
    case 'string':
      return value;
  }
}

const types = new WeakMap<ConnectSchema, { readonly text: string; readonly type: avsc.Type }>();

/** The Avro schema text and avsc type of a Connect schema, made once per schema object. */
export function avroTypeOf(schema: ConnectSchema): { readonly text: string; readonly type: avsc.Type } {
  let known = types.get(schema);
  if (!known) {
    const json = avroSchema(schema);
    known = { text: JSON.stringify(json), type: parseAvroType(json) };
    types.set(schema, known);
  }
  return known;
}
