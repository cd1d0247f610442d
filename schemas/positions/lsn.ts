/**
 * A PostgreSQL log sequence number: a 64-bit WAL position.
 *
 * Kept as a branded bigint so it compares and sorts exactly; PostgreSQL and the replication library print it
 * in two shapes (`0/197E028` and `00000000/0198A750`) which both parse here.
 */
import { CdcError } from '../../common/errors.ts';

export type Lsn = bigint & { readonly __brand: 'Lsn' };

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export const ZERO_LSN = 0n as Lsn;

export function parseLsn(text: string): Lsn {
  const match = LSN_PATTERN.exec(text.trim());
  if (!match) {
    throw new CdcError('POSITION_INVALID', `not a PostgreSQL LSN: ${JSON.stringify(text)}`, { value: text });
  }
  return ((BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)) as Lsn;
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
