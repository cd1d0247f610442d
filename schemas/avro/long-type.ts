/**
 * The Avro `long` used everywhere in our schemas: values travel as bigint, exactly, instead of avsc's default
 * JavaScript number (which refuses anything beyond 2^53).
 *
 * Avro's long is signed 64-bit. Unsigned 64-bit columns (MySQL BIGINT UNSIGNED) are written as the same 64
 * bits (two's complement), so 2^64-1 travels as -1; the column metadata (`uint64`) tells the decoder to read
 * them back unsigned (see row-codec.ts). Nothing is lost and other-language readers see a plain long.
 */
import avsc from 'avsc';

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function isLong(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= INT64_MIN && value <= UINT64_MAX;
}

export const bigintLongType: avsc.types.LongType = avsc.types.LongType.__with({
  fromBuffer: (buffer: Buffer): bigint => buffer.readBigInt64LE(0),
  toBuffer: (value: bigint): Buffer => {
    const buffer = Buffer.allocUnsafe(8);
    buffer.writeBigInt64LE(BigInt.asIntN(64, value), 0);
    return buffer;
  },
  fromJSON: (value: unknown): bigint => BigInt(value as string | number),
  // JSON has no exact 64-bit integer; this only serves avsc's JSON rendering (defaults, debugging).
  toJSON: (value: bigint): number => Number(value),
  isValid: isLong,
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/** Parses an Avro schema with every `long` as the bigint long. */
export function parseAvroType(schema: unknown): avsc.Type {
  // A fresh registry per parse: avsc stores named types in it, and names repeat across our table schemas.
  return avsc.Type.forSchema(schema as avsc.Schema, {
    registry: { long: bigintLongType },
    wrapUnions: 'auto',
    // The registry only catches the name "long"; a long written as an object (`{"type": "long",
    // "connect.name": ...}`, as Kafka Connect's Avro schemas do) would get avsc's own number long.
    typeHook: (candidate) => (isLongObject(candidate) ? bigintLongType : undefined),
  });
}

function isLongObject(schema: unknown): boolean {
  return (
    typeof schema === 'object' &&
    schema !== null &&
    !Array.isArray(schema) &&
    (schema as { type?: unknown }).type === 'long'
  );
}
