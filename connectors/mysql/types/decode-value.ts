/**
 * Turns a value as the binlog client or mysql2 hands it over into the change-event Value of its column, so
 * snapshot reads and streamed changes of the same row are equal. Both clients run with dateStrings and
 * big-number strings, so nothing temporal or 64-bit ever passes through a lossy JS Date or double.
 *
 * Zero dates (`0000-00-00`, `0000-00-00 00:00:00`) pass through as their text: they are legal MySQL values
 * with no calendar meaning, and turning them into NULL would lose a distinction the source makes.
 */
import type { Row, Value } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { setColumn } from '../../../schemas/events/set-column.ts';
import { CdcError } from '../../../common/errors.ts';

/** Text of a scalar the drivers return (string, number, bigint, bytes); anything else as JSON. */
export function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value) ?? '';
}

function fail(column: ColumnSchema, raw: unknown, why: string): CdcError {
  const shown =
    raw instanceof Uint8Array
      ? `<${raw.length} bytes>`
      : typeof raw === 'bigint'
        ? String(raw)
        : JSON.stringify(raw);
  return new CdcError(
    'DECODE_FAILED',
    `cannot decode column ${JSON.stringify(column.name)} (${column.sourceType}) value ${shown}: ${why}`,
    {
      column: column.name,
    },
  );
}

function toBigInt(column: ColumnSchema, raw: unknown): bigint {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number' && Number.isInteger(raw)) return BigInt(raw);
  if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
  throw fail(column, raw, 'not an integer');
}

function toNumber(column: ColumnSchema, raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  throw fail(column, raw, 'not a number');
}

function toText(column: ColumnSchema, raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  if (raw instanceof Uint8Array)
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  throw fail(column, raw, 'not text');
}

function toBytes(raw: unknown, column: ColumnSchema): Uint8Array {
  if (raw instanceof Uint8Array) return new Uint8Array(raw);
  if (typeof raw === 'string') return new Uint8Array(Buffer.from(raw, 'utf8'));
  throw fail(column, raw, 'not bytes');
}

/** `2024-01-01 00:00:00.000001` read in UTC becomes `2024-01-01 00:00:00.000001+00`; zero dates stay as they are. */
function utcTimestamp(text: string): string {
  return text.startsWith('0000-00-00') ? text : `${text}+00`;
}

/** MariaDB UUID columns reach the binlog as 16 raw bytes; the catalog says they are UUIDs. */
function uuidText(column: ColumnSchema, raw: unknown): string {
  if (typeof raw === 'string') return raw.toLowerCase();
  if (raw instanceof Uint8Array && raw.length === 16) {
    const hex = Buffer.from(raw).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw fail(column, raw, 'not a UUID');
}

/** BIT(n) as its n-character bit string (`0101`), the text form PostgreSQL's bit type uses too. */
function bitText(column: ColumnSchema, length: number, raw: unknown): string {
  let value: bigint;
  if (raw instanceof Uint8Array) value = raw.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  else if (typeof raw === 'number' || typeof raw === 'bigint') value = BigInt(raw);
  else throw fail(column, raw, 'not a bit value');
  return value.toString(2).padStart(length, '0');
}

function jsonText(column: ColumnSchema, raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (raw instanceof Uint8Array) return toText(column, raw);
  return JSON.stringify(raw);
}

export function decodeValue(column: ColumnSchema, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  const type = column.type;
  switch (type.kind) {
    case 'int16':
    case 'int32':
      return toNumber(column, raw);
    case 'int64':
    case 'uint64':
      return toBigInt(column, raw);
    case 'float32':
      // The binlog carries the stored 4-byte float, a query its shortest text; rounding both to float32 makes them equal.
      return Math.fround(toNumber(column, raw));
    case 'float64':
      return toNumber(column, raw);
    case 'decimal':
      return toText(column, raw);
    case 'timestamptz':
      return utcTimestamp(toText(column, raw));
    case 'date':
    case 'timestamp':
    case 'time':
    case 'string':
    case 'enum':
    case 'set':
    case 'text':
    case 'interval':
      return toText(column, raw);
    case 'json':
      return jsonText(column, raw);
    case 'bytes':
      return toBytes(raw, column);
    case 'uuid':
      return uuidText(column, raw);
    case 'bit':
      return bitText(column, type.length, raw);
    case 'boolean':
      return typeof raw === 'boolean' ? raw : toNumber(column, raw) !== 0;
    case 'array':
      throw fail(column, raw, 'arrays do not exist in MySQL');
  }
}

/** A row as the driver or the binlog client returned it (column name → raw value), decoded column by column. */
export function decodeRow(table: TableSchema, raw: Readonly<Record<string, unknown>>): Row {
  // A loop rather than fromEntries over pairs: this runs for every row image of the binlog.
  const row: Record<string, Value> = {};
  for (const column of table.columns) {
    setColumn(row, column.name, decodeValue(column, raw[column.name]));
  }
  return row;
}
