/**
 * A PostgreSQL log sequence number: a 64-bit WAL position.
 *
 * Kept as a branded bigint so it compares and sorts exactly; PostgreSQL and the replication library print it
 * in two shapes (`0/197E028` and `00000000/0198A750`) which both parse here.
 */
import { CdcError } from '../../common/errors.ts';

export type Lsn = bigint & { readonly __brand: 'Lsn' };

export const ZERO_LSN = 0n as Lsn;

/**
 * Parsed by hand, not by a regular expression and BigInt of text: capture parses the LSN of every replication
 * message, thousands a second with small transactions. Each half has at most 8 hex digits, so it is exact as
 * a number.
 */
export function parseLsn(text: string): Lsn {
  const slash = text.indexOf('/');
  const start = slash < 0 ? -1 : firstNonSpace(text);
  const end = slash < 0 ? -1 : lastNonSpace(text) + 1;
  const high = start < 0 ? -1 : hexValue(text, start, slash);
  const low = high < 0 ? -1 : hexValue(text, slash + 1, end);
  if (low < 0) {
    throw new CdcError('POSITION_INVALID', `not a PostgreSQL LSN: ${JSON.stringify(text)}`, { value: text });
  }
  return ((BigInt(high) << 32n) | BigInt(low)) as Lsn;
}

/** The value of 1 to 8 hex digits from `start` to `end`, or -1 when they are not that. */
function hexValue(text: string, start: number, end: number): number {
  if (end - start < 1 || end - start > 8) return -1;
  let value = 0;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    const digit =
      code >= 48 && code <= 57
        ? code - 48
        : code >= 65 && code <= 70
          ? code - 55
          : code >= 97 && code <= 102
            ? code - 87
            : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

function firstNonSpace(text: string): number {
  let index = 0;
  while (index < text.length && isSpace(text.charCodeAt(index))) index++;
  return index;
}

function lastNonSpace(text: string): number {
  let index = text.length - 1;
  while (index >= 0 && isSpace(text.charCodeAt(index))) index--;
  return index;
}

/** What String.prototype.trim removes, for the characters an LSN's text may come with. */
function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0xfeff;
}

/** Formats in PostgreSQL's own canonical shape (`16/B374D848`), which `pg_lsn` accepts. */
export function formatLsn(lsn: Lsn): string {
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

export function lsnFromBigInt(value: bigint): Lsn {
  if (value < 0n || value > 0xffffffffffffffffn) {
    throw new CdcError('POSITION_INVALID', `LSN out of range: ${value}`, { value: String(value) });
  }
  return value as Lsn;
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a >= b ? a : b;
}
