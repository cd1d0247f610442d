/**
 * Kafka Connect's schema as its JsonConverter writes it with `schemas.enable=true` (the `schema` half of a
 * `{schema, payload}` message), and the JSON values Debezium's payloads hold. Plain data, no library: what
 * subscribers parse is this text, so we write it ourselves and keep int64 exact (see `toJsonText`).
 */

export type ConnectType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'array'
  | 'struct';

export interface ConnectSchema {
  readonly type: ConnectType;
  readonly optional: boolean;
  /** Logical type name (`io.debezium.time.MicroTimestamp`, `org.apache.kafka.connect.data.Decimal`, ...). */
  readonly name?: string;
  readonly version?: number;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly default?: JsonValue;
  /** The field name, when this schema is a struct's field. */
  readonly field?: string;
  readonly fields?: readonly ConnectSchema[];
  readonly items?: ConnectSchema;
}

/** A payload value; bigint is an exact JSON integer (int64 values past 2^53 stay exact). */
export type JsonValue =
  null | boolean | number | bigint | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export function field(name: string, schema: ConnectSchema): ConnectSchema {
  return { ...schema, field: name };
}

export function struct(
  name: string,
  fields: readonly ConnectSchema[],
  optional: boolean,
  version?: number,
): ConnectSchema {
  return {
    type: 'struct',
    fields,
    optional,
    name,
    ...(version === undefined ? {} : { version }),
  };
}

export const plain = (type: ConnectType, optional: boolean): ConnectSchema => ({ type, optional });

interface RawJson {
  readonly rawJSON: (text: string) => unknown;
}

/**
 * JSON text in which a bigint is written as its exact digits (JSON.rawJSON, Node 21+), as Jackson writes a
 * Java long: JSON.stringify would refuse it, and a Number would round it.
 */
export function toJsonText(value: unknown): string {
  const raw = (JSON as unknown as RawJson).rawJSON;
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? raw(item.toString()) : item,
  );
}

/** A record's key or value before it is written: its Connect schema and its payload. */
export interface RecordPart {
  readonly schema: ConnectSchema;
  readonly payload: JsonValue;
}

/** JsonConverter's text of a part: `{schema, payload}` with `schemas.enable=true`, else the bare payload. */
export function jsonText(part: RecordPart, schemas: boolean): string {
  return toJsonText(schemas ? { schema: part.schema, payload: part.payload } : part.payload);
}
