/**
 * Turns change-event values into parameters for the MariaDB/MySQL target column, without losing anything:
 * bigints and decimals go as literal digits, bytes as X'..', PostgreSQL temporal text as MariaDB literals
 * (time zones converted to UTC), arrays as JSON. A value the target cannot hold (infinity, a BC date, NaN)
 * fails with a message naming it, so the event is dead-lettered rather than stored as something else.
 */
import type { Value } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { RawSql, type Parameter } from './sql.ts';
import { fitsBitColumn } from './type-mapping.ts';

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
/** PostgreSQL's date/timestamp text with DateStyle ISO: `2024-01-02`, `2024-01-02 03:04:05.123456+05:30`, ` BC`. */
const TEMPORAL =
  /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(\.\d{1,6})?)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

function unfit(column: ColumnSchema, value: Value, why: string): CdcError {
  const shown = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  return new CdcError(
    'APPLY_FAILED',
    `value ${shown} of column ${JSON.stringify(column.name)} (${column.sourceType}) cannot be stored in MariaDB/MySQL: ${why}`,
    { column: column.name },
  );
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/**
 * A date or timestamp as a MariaDB literal. Offsets are applied so the result is the UTC instant (the
 * connectors print `+00` already: then nothing is computed). MySQL zero dates pass through as they are.
 */
export function temporalLiteral(column: ColumnSchema, text: string): string {
  if (/^-?infinity$/.test(text)) throw unfit(column, text, 'MariaDB has no infinite dates or timestamps');
  const match = TEMPORAL.exec(text);
  if (!match) throw unfit(column, text, 'not a date or timestamp MariaDB can read');
  const [, year = '', month = '', day = '', hour, minute, second, fraction = '', sign, offH, offM, offS, bc] =
    match;
  if (bc !== undefined) throw unfit(column, text, 'MariaDB has no dates before year 1');
  if (year.length > 4) throw unfit(column, text, 'MariaDB has no dates after year 9999');
  const date = `${year}-${month}-${day}`;
  if (hour === undefined) return date;
  const offsetSeconds =
    sign === undefined
      ? 0
      : (sign === '-' ? -1 : 1) * (Number(offH) * 3600 + Number(offM ?? 0) * 60 + Number(offS ?? 0));
  if (offsetSeconds === 0) return `${date} ${hour}:${minute}:${second}${fraction}`;
  const instant = new Date(0);
  instant.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  instant.setUTCHours(Number(hour), Number(minute), Number(second) - offsetSeconds, 0);
  const utcYear = instant.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999)
    throw unfit(column, text, 'in UTC it falls outside the years 1 to 9999 MariaDB can hold');
  return `${pad(utcYear, 4)}-${pad(instant.getUTCMonth() + 1)}-${pad(instant.getUTCDate())} ${pad(instant.getUTCHours())}:${pad(instant.getUTCMinutes())}:${pad(instant.getUTCSeconds())}${fraction}`;
}

/** A bit string (`0101`) as the big-endian bytes a BIT(n) column takes. */
function bitBytes(column: ColumnSchema, value: Value): Buffer {
  let bits: bigint;
  if (typeof value === 'string' && /^[01]*$/.test(value)) bits = value === '' ? 0n : BigInt(`0b${value}`);
  else if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)))
    bits = BigInt(value);
  else if (value instanceof Uint8Array) return Buffer.from(value);
  else throw unfit(column, value, 'not a bit string');
  const bytes: number[] = [];
  for (let rest = bits; rest > 0n; rest >>= 8n) bytes.unshift(Number(rest & 0xffn));
  return Buffer.from(bytes.length === 0 ? [0] : bytes);
}

/** A PostgreSQL array as JSON text: numbers stay exact (written as their digits), bytes as `\x` hex text. */
export function jsonArray(column: ColumnSchema, element: ColumnType, values: readonly Value[]): string {
  const numeric = ['int16', 'int32', 'int64', 'uint64', 'float32', 'float64', 'decimal'].includes(
    element.kind,
  );
  const item = (value: Value): string => {
    if (value === null) return 'null';
    if (Array.isArray(value)) return `[${(value as readonly Value[]).map(item).join(',')}]`;
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw unfit(column, value, 'JSON has no NaN or Infinity');
      return String(value);
    }
    if (value instanceof Uint8Array) return JSON.stringify(`\\x${Buffer.from(value).toString('hex')}`);
    const text = value as string;
    if (numeric && DECIMAL.test(text)) return text.replace(/^\+/, '').replace(/^(-?)\./, '$10.');
    if (numeric) throw unfit(column, text, 'JSON has no NaN or Infinity');
    return JSON.stringify(text);
  };
  return item(values);
}

function integerParameter(column: ColumnSchema, value: Value): Parameter {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && INTEGER.test(value)) return new RawSql(value.replace(/^\+/, ''));
  throw unfit(column, value, 'not an integer');
}

export function toParameter(value: Value | undefined, column: ColumnSchema, table: TableSchema): Parameter {
  if (value === null || value === undefined) return null;
  const type = column.type;
  switch (type.kind) {
    case 'boolean':
      return value === true ? 1 : value === false ? 0 : integerParameter(column, value);
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint64':
      return integerParameter(column, value);
    case 'float32':
    case 'float64':
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw unfit(column, value, 'MariaDB has no NaN or Infinity');
        return value;
      }
      break;
    case 'decimal':
      if (typeof value === 'string') {
        if (!DECIMAL.test(value)) throw unfit(column, value, 'DECIMAL has no NaN or Infinity');
        return new RawSql(value);
      }
      if (typeof value === 'bigint' || typeof value === 'number') return integerParameter(column, value);
      break;
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      if (typeof value === 'string') {
        // Zero dates are MySQL's own values: they go back as they came.
        if (table.dialect === 'mysql' && value.startsWith('0000-00-00')) return value.replace(/\+00$/, '');
        return temporalLiteral(column, value);
      }
      break;
    case 'bit':
      return fitsBitColumn(type) ? bitBytes(column, value) : String(value);
    case 'set':
      if (Array.isArray(value)) return (value as readonly Value[]).map(String).join(',');
      break;
    case 'array':
      if (Array.isArray(value)) return jsonArray(column, type.element, value as readonly Value[]);
      break;
    case 'bytes':
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      break;
    case 'time':
    case 'string':
    case 'uuid':
    case 'json':
    case 'interval':
    case 'enum':
    case 'text':
      break;
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return jsonArray(column, { kind: 'text' }, value as readonly Value[]);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && !Number.isFinite(value))
    throw unfit(column, value, 'MariaDB has no NaN or Infinity');
  return typeof value === 'bigint' || typeof value === 'number' ? value : String(value);
}
