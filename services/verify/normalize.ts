/**
 * Canonical text per neutral kind, so the same logical value read from PostgreSQL and from MariaDB is the
 * same string. Readers hand over what their driver returns without interpretation (text, or bytes for binary
 * columns); everything dialect-specific about the *form* of a value is settled here:
 *
 * | kind              | canonical form                                                                  |
 * |-------------------|---------------------------------------------------------------------------------|
 * | integer, boolean  | decimal digits; true/false (`t`/`f`, `true`/`false`) become `1`/`0`              |
 * | decimal           | plain decimal, no exponent, no leading or trailing zeros (`1.50` → `1.5`, `-0` → `0`) |
 * | float             | JavaScript's shortest round-trip text of the double (float32 columns are read widened to double by the reader) |
 * | timestamp         | `YYYY-MM-DDTHH:MM:SS.ffffffZ`, converted to UTC when an offset is present        |
 * | time              | `HH:MM:SS.ffffff` (offset kept)                                                 |
 * | bytes             | lowercase hex                                                                   |
 * | json              | keys sorted, no whitespace, numbers as canonical decimals                       |
 * | uuid              | lowercase                                                                       |
 * | bit               | binary digits without leading zeros (MariaDB BIT has no length of its own)      |
 * | array             | a JSON array of each element's canonical text (by the element's kind), nested as the array is; read from PostgreSQL's array text (`{1,NULL,"b c"}`) or from JSON (`[1,null,"b c"]`, what a MariaDB replica holds) |
 * | text, date        | unchanged                                                                       |
 *
 * SQL NULL stays null, distinct from the empty string, all the way into the hash (row-hash.ts).
 */
import { parseArrayText, type ArrayText } from '../../connectors/postgres/types/pg-array.ts';
import type { NeutralKind } from './types.ts';

/** `element`: the kind of an array's elements (kind `array` only; text when not known). */
export function normalizeValue(
  kind: NeutralKind,
  raw: string | Uint8Array | null,
  element: NeutralKind = 'text',
): string | null {
  if (raw === null) return null;
  if (raw instanceof Uint8Array) return normalizeBytesValue(kind, raw, element);
  switch (kind) {
    case 'integer':
    case 'boolean':
      return normalizeInteger(raw);
    case 'decimal':
      return normalizeDecimal(raw);
    case 'float':
      return normalizeFloat(raw);
    case 'timestamp':
      return normalizeTimestamp(raw);
    case 'time':
      return normalizeTime(raw);
    case 'bytes':
      return /^\\x/i.test(raw) ? raw.slice(2).toLowerCase() : Buffer.from(raw, 'utf8').toString('hex');
    case 'json':
      return canonicalJson(raw);
    case 'uuid':
      return raw.toLowerCase();
    case 'bit':
      return raw.replace(/^0+(?=.)/, '');
    case 'array':
      return normalizeArray(raw, element);
    case 'text':
    case 'date':
      return raw;
  }
}

function normalizeBytesValue(kind: NeutralKind, bytes: Uint8Array, element: NeutralKind): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (kind) {
    case 'bytes':
      return buffer.toString('hex');
    case 'bit':
    case 'integer':
    case 'boolean': {
      let value = 0n;
      for (const byte of buffer) value = (value << 8n) | BigInt(byte);
      return kind === 'bit' ? value.toString(2) : value.toString();
    }
    case 'decimal':
    case 'float':
    case 'json':
    case 'text':
    case 'time':
    case 'timestamp':
    case 'date':
    case 'uuid':
    case 'array':
      // Text that the driver kept as bytes (binary collations): its characters are what compare.
      return normalizeValue(kind, buffer.toString('utf8'), element) ?? '';
  }
}

const BOOLEAN_TEXT: Readonly<Record<string, string>> = { t: '1', true: '1', f: '0', false: '0' };

export function normalizeInteger(text: string): string {
  const trimmed = text.trim();
  const boolean = BOOLEAN_TEXT[trimmed.toLowerCase()];
  if (boolean !== undefined) return boolean;
  return /^[+-]?\d+$/.test(trimmed) ? BigInt(trimmed).toString() : normalizeDecimal(trimmed);
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Exact decimal text without exponent, leading or trailing zeros; NaN and infinities pass unchanged. */
export function normalizeDecimal(text: string): string {
  const match = DECIMAL.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return text.trim();
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = `${whole}${fraction}`;
  // Position of the decimal point within `digits`, after applying the exponent.
  const point = whole.length + Number(exponentText);
  const padded = point < 0 ? `${'0'.repeat(-point)}${digits}` : digits.padEnd(point, '0');
  const at = Math.max(point, 0);
  const integerPart = padded.slice(0, at).replace(/^0+/, '') || '0';
  const fractionPart = padded.slice(at).replace(/0+$/, '');
  const body = fractionPart === '' ? integerPart : `${integerPart}.${fractionPart}`;
  return sign === '-' && body !== '0' ? `-${body}` : body;
}

export function normalizeFloat(text: string): string {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  if (lower === 'nan') return 'NaN';
  if (lower === 'infinity' || lower === 'inf' || lower === '+infinity') return 'Infinity';
  if (lower === '-infinity' || lower === '-inf') return '-Infinity';
  const value = Number(trimmed);
  if (Number.isNaN(value)) return trimmed;
  return Object.is(value, -0) ? '0' : String(value);
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

/** Microsecond ISO text in UTC; values outside what this handles (BC, infinity, zero dates) pass unchanged. */
export function normalizeTimestamp(text: string): string {
  const match = TIMESTAMP.exec(text.trim());
  if (!match) return text.trim();
  const [, year = '', month = '', day = '', hour = '', minute = '', second = '', fraction = '', zone] = match;
  const micros = fraction.padEnd(6, '0');
  const offsetSeconds = zone === undefined || zone === 'Z' ? 0 : parseOffset(zone);
  if (offsetSeconds === 0) return `${year}-${month}-${day}T${hour}:${minute}:${second}.${micros}Z`;
  const utcMillis =
    Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) -
    offsetSeconds * 1000;
  const moved = new Date(utcMillis);
  if (Number.isNaN(moved.getTime())) return text.trim();
  // Date.UTC maps years 0-99 to 1900-1999; such timestamps are rare enough to keep as written.
  if (Number(year) < 100) return text.trim();
  return `${moved.toISOString().slice(0, 19)}.${micros}Z`;
}

function parseOffset(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replaceAll(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  const seconds = Number(digits.slice(4, 6) || '0');
  return sign * (hours * 3600 + minutes * 60 + seconds);
}

export function normalizeTime(text: string): string {
  const match = /^(-?\d{2,3}:\d{2}:\d{2})(?:\.(\d{1,6}))?(.*)$/.exec(text.trim());
  if (!match) return text.trim();
  const [, clock = '', fraction = '', rest = ''] = match;
  return `${clock}.${fraction.padEnd(6, '0')}${rest}`;
}

/** A JSON number kept as its source text, so large and exact numbers survive parsing. */
class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * JSON with object keys sorted (by UTF-16 code units), no insignificant whitespace and numbers as canonical
 * decimals (`1.0` and `1` are the same number, as jsonb and MariaDB's JSON_EQUALS also see them). Text that
 * is not JSON is returned unchanged, so it still compares as written.
 */
export function canonicalJson(text: string): string {
  const parsed = parseJsonKeepingNumbers(text);
  // Not JSON (a text column holding arbitrary text): the raw text is its canonical form.
  return parsed === NOT_JSON ? text : writeJson(parsed);
}

const NOT_JSON = Symbol('not JSON');

/** JSON.parse with every number kept as its source text (JsonNumber); NOT_JSON when the text is not JSON. */
function parseJsonKeepingNumbers(text: string): unknown {
  try {
    return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' ? new JsonNumber(context?.source ?? String(value)) : value,
    );
  } catch {
    return NOT_JSON;
  }
}

function writeJson(value: unknown): string {
  if (value instanceof JsonNumber) return normalizeDecimal(value.text);
  if (Array.isArray(value)) return `[${value.map(writeJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${writeJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** An array's elements before normalization: each element's text (null for NULL), nested as the array is. */
type ArrayItems = readonly (string | null | ArrayItems)[];

/**
 * An array as PostgreSQL prints it or as the JSON a MariaDB replica holds (docs/type-mapping.md: numbers as
 * their digits, booleans as true/false, bytea as `\x` text, everything else as its PostgreSQL text), as one
 * JSON array of canonical element texts. Text that is neither is returned unchanged, so it still compares.
 */
export function normalizeArray(text: string, element: NeutralKind): string {
  const items = jsonArrayItems(text) ?? pgArrayItems(text);
  if (items === null) return text;
  const canonical = (item: string | null | ArrayItems): unknown =>
    item === null || typeof item === 'string' ? normalizeValue(element, item) : item.map(canonical);
  return JSON.stringify(items.map(canonical));
}

function pgArrayItems(text: string): ArrayText | null {
  try {
    return parseArrayText(text);
  } catch {
    return null;
  }
}

function jsonArrayItems(text: string): ArrayItems | null {
  const parsed = parseJsonKeepingNumbers(text);
  if (!Array.isArray(parsed)) return null;
  const item = (value: unknown): string | null | ArrayItems => {
    if (value === null) return null;
    if (Array.isArray(value)) return value.map(item);
    if (value instanceof JsonNumber) return value.text;
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    // An object element (JSON written as JSON rather than as its text): its canonical JSON text.
    return writeJson(value);
  };
  return parsed.map(item);
}
