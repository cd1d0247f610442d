/**
 * Column defaults in the dialect-neutral form: a constant default travels as the canonical text of the value
 * it gives (what the connectors decode a stored value of that type to), so a replica of either dialect can
 * add the column with the same default and its existing rows get what the source's rows got.
 *
 * Only constants of the types below are carried; the connectors turn their catalog's literal into the
 * unquoted text first (connectors/{mysql,postgres}/types/column-default.ts), and `canonicalDefault` then
 * accepts it only when it is an exact, ordinary value of the column's type. Anything doubtful (zero dates,
 * times past 24:00, infinities, text with NUL) is left out: a missing default is the old behaviour, a wrong
 * one would be a silent difference.
 */
import type { Value } from './change-event.ts';
import type { ColumnSchema, ColumnType } from './table-schema.ts';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A calendar date from year 1 to 9999 (both dialects and both directions hold these). */
const DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?$/;
const OFFSET = /^([+-])(\d\d)(?::?(\d\d))?$/;

function validDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(2000, month, 0)).getUTCDate() && (month !== 2 || day < 29 || leap(year));
}

function leap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `12:30:00`, `12:30:00.5`, with an offset when `zone` allows one (`+02`, `-05:30`); returns the parts. */
function splitTime(text: string): { time: string; offset: string } | null {
  const at = text.search(/[+-]/);
  const time = at < 0 ? text : text.slice(0, at);
  const offset = at < 0 ? '' : text.slice(at);
  if (!TIME.test(time) || (offset !== '' && !OFFSET.test(offset))) return null;
  return { time, offset };
}

function canonicalDecimal(text: string, scale: number | undefined): string | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = ''] = match;
  if (whole === '' && fraction === '') return undefined;
  if (scale !== undefined && fraction.length > scale) return undefined;
  const digits = whole.replace(/^0+(?=\d)/, '') || '0';
  const padded = scale !== undefined ? fraction.padEnd(scale, '0') : fraction;
  return `${sign === '-' ? '-' : ''}${digits}${padded === '' ? '' : `.${padded}`}`;
}

function canonicalInteger(text: string, min: bigint, max: bigint): string | undefined {
  if (!INTEGER.test(text)) return undefined;
  const value = BigInt(text);
  return value >= min && value <= max ? value.toString() : undefined;
}

/**
 * The canonical text of a default for a column of `type`, given the literal's unquoted text as the source's
 * catalog shows it; undefined when the type is not carried or the text is not an ordinary value of it.
 */
export function canonicalDefault(type: ColumnType, text: string): string | undefined {
  switch (type.kind) {
    case 'int16':
      return canonicalInteger(text, -(2n ** 15n), 2n ** 16n - 1n);
    case 'int32':
      return canonicalInteger(text, -(2n ** 31n), 2n ** 32n - 1n);
    case 'int64':
      return canonicalInteger(text, -(2n ** 63n), 2n ** 63n - 1n);
    case 'uint64':
      return canonicalInteger(text, 0n, 2n ** 64n - 1n);
    case 'decimal':
      return canonicalDecimal(text, type.scale);
    case 'float32':
    case 'float64': {
      if (!FLOAT.test(text)) return undefined;
      const value = Number(text);
      return Number.isFinite(value) ? String(value) : undefined;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === 't' || lower === '1') return 'true';
      if (lower === 'false' || lower === 'f' || lower === '0') return 'false';
      return undefined;
    }
    case 'string':
    case 'text':
      // PostgreSQL text cannot hold NUL: such a default could not be given to a PostgreSQL replica.
      return text.includes('\u0000') ? undefined : text;
    case 'enum':
      return type.values.includes(text) ? text : undefined;
    case 'date':
      return validDate(text) ? text : undefined;
    case 'time': {
      const parts = splitTime(text);
      if (parts === null || (parts.offset !== '' && type.withTimeZone !== true)) return undefined;
      return text;
    }
    case 'timestamp':
    case 'timestamptz': {
      const space = text.indexOf(' ');
      const date = space < 0 ? text : text.slice(0, space);
      const parts = space < 0 ? { time: '00:00:00', offset: '' } : splitTime(text.slice(space + 1));
      if (!validDate(date) || parts === null) return undefined;
      // A timestamptz default is an instant only with its offset; a timestamp one has none.
      if ((type.kind === 'timestamptz') !== (parts.offset !== '')) return undefined;
      return `${date} ${parts.time}${parts.offset}`;
    }
    case 'bytes':
    case 'uuid':
    case 'json':
    case 'interval':
    case 'set':
    case 'bit':
    case 'array':
      return undefined;
  }
}

/** A column's default as the change-event Value a connector would decode that stored value to; undefined when none. */
export function defaultValue(column: ColumnSchema): Value | undefined {
  const text = column.default;
  if (text === undefined) return undefined;
  const kind = column.type.kind;
  if (kind === 'int16' || kind === 'int32' || kind === 'float32' || kind === 'float64') return Number(text);
  if (kind === 'int64' || kind === 'uint64') return BigInt(text);
  if (kind === 'boolean') return text === 'true';
  return text;
}
