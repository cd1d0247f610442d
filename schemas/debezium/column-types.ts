/**
 * Our column types as Debezium 3.x writes them with its default settings (`time.precision.mode=adaptive`
 * for PostgreSQL, `adaptive_time_microseconds` for MySQL/MariaDB, `decimal.handling.mode=precise`,
 * `binary.handling.mode=bytes`): the Kafka Connect schema of a column and its value in the JSON payload.
 * One entry per ColumnType kind, so a new kind cannot be forgotten. Intentional differences are listed in
 * README ("Subscribing to the events").
 */
import type { Value } from '../events/change-event.ts';
import type { ColumnSchema, ColumnType } from '../events/table-schema.ts';
import type { ConnectSchema, ConnectType, JsonValue } from './connect-schema.ts';
import { base64, parseDecimal, rescale, twosComplement } from './decimal.ts';
import { dateDays, timeMicros, timestampMicros, zonedTimeText, zonedTimestampText } from './temporal.ts';

/** A value the Debezium type cannot hold: the caller names the table and column. */
export class UnrepresentableValue extends Error {}

interface Mapping {
  /** The column's schema without `optional` and `field`. */
  readonly schema: Omit<ConnectSchema, 'optional' | 'field'>;
  readonly value: (value: Value) => JsonValue;
}

type Of<K extends ColumnType['kind']> = Extract<ColumnType, { kind: K }>;

const named = (
  type: ConnectType,
  name: string,
  parameters?: Record<string, string>,
): Omit<ConnectSchema, 'optional' | 'field'> => ({
  type,
  name,
  version: 1,
  ...(parameters === undefined ? {} : { parameters }),
});

function fail(value: Value, what: string): never {
  throw new UnrepresentableValue(`${describe(value)} cannot be written as ${what}`);
}

function describe(value: Value): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return JSON.stringify(value);
}

function text(value: Value, what: string): string {
  return typeof value === 'string' ? value : fail(value, what);
}

const same = (value: Value): JsonValue =>
  value instanceof Uint8Array ? base64(value) : (value as JsonValue);

function int64(value: Value): JsonValue {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return fail(value, 'int64');
}

/** NaN and infinities have no JSON form JsonConverter reads back. */
function float(value: Value): JsonValue {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(value, 'a finite float');
}

function decimal(type: Of<'decimal'> | Of<'uint64'>): Mapping {
  const scale = type.kind === 'uint64' ? 0 : (type.scale ?? (type.precision === undefined ? null : 0));
  if (scale === null) {
    // Unconstrained numeric: Debezium's VariableScaleDecimal, the scale travels with each value.
    return {
      schema: {
        type: 'struct',
        name: 'io.debezium.data.VariableScaleDecimal',
        version: 1,
        fields: [
          { type: 'int32', optional: false, field: 'scale' },
          { type: 'bytes', optional: false, field: 'value' },
        ],
      },
      value: (value) => {
        const parsed = parseDecimal(String(value));
        if (!parsed) return fail(value, 'a decimal');
        return { scale: parsed.scale, value: base64(twosComplement(parsed.unscaled)) };
      },
    };
  }
  const precision = type.kind === 'uint64' ? 20 : type.precision;
  const parameters: Record<string, string> = { scale: String(scale) };
  if (precision !== undefined) parameters['connect.decimal.precision'] = String(precision);
  return {
    schema: { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters },
    value: (value) => {
      const parsed = parseDecimal(typeof value === 'bigint' ? value.toString() : String(value));
      const unscaled = parsed === null ? null : rescale(parsed, scale);
      return unscaled === null
        ? fail(value, `a decimal of scale ${scale}`)
        : base64(twosComplement(unscaled));
    },
  };
}

/** PostgreSQL's adaptive mode: millisecond types up to precision 3, microsecond types above. */
function adaptive(precision: number | undefined): 'milli' | 'micro' {
  return precision !== undefined && precision <= 3 ? 'milli' : 'micro';
}

const MAPPINGS = {
  boolean: () => ({ schema: { type: 'boolean' }, value: same }),
  int16: () => ({ schema: { type: 'int16' }, value: same }),
  int32: () => ({ schema: { type: 'int32' }, value: same }),
  int64: () => ({ schema: { type: 'int64' }, value: int64 }),
  uint64: (type) => decimal(type),
  float32: () => ({ schema: { type: 'float32' }, value: float }),
  float64: () => ({ schema: { type: 'float64' }, value: float }),
  decimal: (type) => decimal(type),
  string: () => ({ schema: { type: 'string' }, value: same }),
  bytes: () => ({ schema: { type: 'bytes' }, value: same }),
  uuid: () => ({ schema: named('string', 'io.debezium.data.Uuid'), value: same }),
  json: () => ({ schema: named('string', 'io.debezium.data.Json'), value: same }),
  date: () => ({
    schema: named('int32', 'io.debezium.time.Date'),
    value: (value) => dateDays(text(value, 'io.debezium.time.Date')) ?? fail(value, 'io.debezium.time.Date'),
  }),
  time: (type, dialect) => {
    if (type.withTimeZone === true)
      return {
        schema: named('string', 'io.debezium.time.ZonedTime'),
        value: (value) =>
          zonedTimeText(text(value, 'io.debezium.time.ZonedTime')) ??
          fail(value, 'io.debezium.time.ZonedTime'),
      };
    // MySQL's adaptive_time_microseconds always uses MicroTime for TIME.
    if (dialect === 'postgres' && adaptive(type.precision) === 'milli')
      return {
        schema: named('int32', 'io.debezium.time.Time'),
        value: (value) => {
          const micros = timeMicros(text(value, 'io.debezium.time.Time'));
          return micros === null ? fail(value, 'io.debezium.time.Time') : Number(micros / 1000n);
        },
      };
    return {
      schema: named('int64', 'io.debezium.time.MicroTime'),
      value: (value) =>
        timeMicros(text(value, 'io.debezium.time.MicroTime')) ?? fail(value, 'io.debezium.time.MicroTime'),
    };
  },
  timestamp: (type) => {
    if (adaptive(type.precision) === 'milli')
      return {
        schema: named('int64', 'io.debezium.time.Timestamp'),
        value: (value) => {
          const micros = timestampMicros(text(value, 'io.debezium.time.Timestamp'));
          return micros === null ? fail(value, 'io.debezium.time.Timestamp') : micros / 1000n;
        },
      };
    return {
      schema: named('int64', 'io.debezium.time.MicroTimestamp'),
      value: (value) =>
        timestampMicros(text(value, 'io.debezium.time.MicroTimestamp')) ??
        fail(value, 'io.debezium.time.MicroTimestamp'),
    };
  },
  timestamptz: () => ({
    schema: named('string', 'io.debezium.time.ZonedTimestamp'),
    value: (value) =>
      zonedTimestampText(text(value, 'io.debezium.time.ZonedTimestamp')) ??
      fail(value, 'io.debezium.time.ZonedTimestamp'),
  }),
  // Debezium's default interval.handling.mode=numeric approximates months as days; we keep the exact text.
  interval: () => ({ schema: { type: 'string' }, value: same }),
  enum: (type) => ({
    schema: named('string', 'io.debezium.data.Enum', { allowed: type.values.join(',') }),
    value: same,
  }),
  set: (type) => ({
    schema: named('string', 'io.debezium.data.EnumSet', { allowed: type.values.join(',') }),
    value: same,
  }),
  // BIT(1) is a boolean in Debezium; longer bit strings keep their `0101` text here (see README).
  bit: (type) =>
    type.length === 1
      ? { schema: { type: 'boolean' }, value: (value) => value === '1' || value === true }
      : { schema: { type: 'string' }, value: same },
  array: (type, dialect) => {
    const element = columnMapping(type.element, dialect);
    return {
      schema: { type: 'array', items: { ...element.schema, optional: true } },
      value: (value) =>
        Array.isArray(value)
          ? (value as readonly Value[]).map((item) => (item === null ? null : element.value(item)))
          : fail(value, 'an array'),
    };
  },
  text: () => ({ schema: { type: 'string' }, value: same }),
} satisfies { [K in ColumnType['kind']]: (type: Of<K>, dialect: 'postgres' | 'mysql') => Mapping };

export function columnMapping(type: ColumnType, dialect: 'postgres' | 'mysql'): Mapping {
  const make = MAPPINGS[type.kind] as (type: ColumnType, dialect: 'postgres' | 'mysql') => Mapping;
  return make(type, dialect);
}

/** The column as a field of the row struct: optional when the column is nullable, as Debezium marks it. */
export function columnField(column: ColumnSchema, dialect: 'postgres' | 'mysql'): ConnectSchema {
  return { ...columnMapping(column.type, dialect).schema, optional: column.nullable, field: column.name };
}
