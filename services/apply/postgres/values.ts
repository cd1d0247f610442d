/**
 * Turns change-event values into query parameters for the target column's type, without losing anything:
 * bigints and decimals go as text, bytes as binary, arrays as PostgreSQL array literals.
 */
import type { Value } from '../../../schemas/events/change-event.ts';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';

export type Parameter = string | Buffer | null;

function scalarText(value: Exclude<Value, readonly Value[] | null>): string {
  if (value instanceof Uint8Array)
    return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  return String(value);
}

function quoteElement(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A PostgreSQL array literal (`{1,NULL,"a b"}`), nested arrays as nested braces. */
export function arrayLiteral(values: readonly Value[]): string {
  const parts = values.map((element): string => {
    if (element === null) return 'NULL';
    if (Array.isArray(element)) return arrayLiteral(element as readonly Value[]);
    return quoteElement(scalarText(element as Exclude<Value, readonly Value[] | null>));
  });
  return `{${parts.join(',')}}`;
}

/** MySQL BIT(n) arrives as big-endian bytes or a number: PostgreSQL wants the n-digit bit string. */
function bitString(value: Value, length: number): string {
  if (typeof value === 'string') return value;
  let bits: string;
  if (value instanceof Uint8Array)
    bits = Array.from(value, (byte) => byte.toString(2).padStart(8, '0')).join('');
  else if (typeof value === 'bigint' || typeof value === 'number') bits = BigInt(value).toString(2);
  else throw new CdcError('APPLY_FAILED', `cannot write ${typeof value} into a bit(${length}) column`, {});
  return bits.length > length ? bits.slice(bits.length - length) : bits.padStart(length, '0');
}

export function toParameter(value: Value | undefined, type: ColumnType): Parameter {
  if (value === null || value === undefined) return null;
  if (type.kind === 'bit') return bitString(value, type.length);
  if (Array.isArray(value)) {
    // A MySQL SET carried as its members goes into a text column as MySQL prints it.
    if (type.kind === 'set') return (value as readonly Value[]).map(String).join(',');
    return arrayLiteral(value as readonly Value[]);
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return scalarText(value as Exclude<Value, readonly Value[] | null | Uint8Array>);
}
