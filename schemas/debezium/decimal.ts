/**
 * Exact decimals as Kafka Connect's `Decimal` logical type carries them (Debezium's
 * `decimal.handling.mode=precise`): the unscaled value as big-endian two's-complement bytes, exactly Java's
 * `BigInteger.toByteArray()`, with the scale in the schema; and `io.debezium.data.VariableScaleDecimal` for
 * numerics without a declared scale, which carries the scale with each value.
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Java's BigInteger.toByteArray(): the shortest two's-complement big-endian form, at least one byte. */
export function twosComplement(value: bigint): Uint8Array {
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length++;
  let unsigned = value < 0n ? (1n << BigInt(8 * length)) + value : value;
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(unsigned & 0xffn);
    unsigned >>= 8n;
  }
  return out;
}

export interface Unscaled {
  readonly unscaled: bigint;
  readonly scale: number;
}

/** `-12.50` → {unscaled: -1250n, scale: 2}; null for NaN, Infinity or anything not a plain decimal. */
export function parseDecimal(text: string): Unscaled | null {
  const m = DECIMAL.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const fraction = m[3] ?? '';
  const unscaled = BigInt(`${m[2] === '' ? '0' : m[2]}${fraction}`);
  return { unscaled: m[1] === '-' ? -unscaled : unscaled, scale: fraction.length };
}

/** The unscaled value at `scale` (padding zeros); null when the text has more non-zero decimals than that. */
export function rescale(value: Unscaled, scale: number): bigint | null {
  if (value.scale <= scale) return value.unscaled * 10n ** BigInt(scale - value.scale);
  const divisor = 10n ** BigInt(value.scale - scale);
  return value.unscaled % divisor === 0n ? value.unscaled / divisor : null;
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
