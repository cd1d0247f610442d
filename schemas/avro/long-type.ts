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

const methods = {
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
};

/** Below 2^52 in magnitude avsc's number varint is exact, the zigzag value included (2|n|+1 < 2^53). */
const EXACT_AS_NUMBER = 2n ** 52n;

interface LongTap {
  buf: Buffer;
  pos: number;
  writeLong(value: number): void;
}

type WriteLong = (this: unknown, tap: LongTap, value: unknown) => void;
type ReadLong = (this: unknown, tap: LongTap) => bigint | undefined;

/**
 * Varint bytes summed as a number: 8 carry 56 bits, so a sum is exact while it stays at most 2^53 - 1 (a larger
 * exact sum rounds to 2^53 or more, so the check after the sum is safe).
 */
const NUMBER_VARINT_BYTES = 8;

/**
 * What `LongType.__with(methods)` builds, with a faster `_write` and `_read`: avsc writes a custom long through
 * `toBuffer`, a fresh 8-byte Buffer per value repacked into the varint, and reads one by unpacking the varint
 * into a fresh zero-filled 8-byte Buffer. An event carries several longs (key, commit time, transaction index
 * and total), so capture and apply made one Buffer for each; in apply that was a fifth of all the memory
 * allocated. Values under 2^52 in magnitude (microsecond timestamps included) now go straight between the
 * varint and a number, which gives the same bytes and values; larger ones keep the Buffer path. (`__with` freezes its type,
 * hence the same steps done here.)
 */
function fastLongType(): avsc.types.LongType {
  const template = avsc.types.LongType.__with(methods);
  const AbstractLong = (Object.getPrototypeOf(template) as { constructor: new (noUnpack: boolean) => object })
    .constructor;
  const type = new AbstractLong(false) as Record<string, unknown>;
  type._toBuffer = methods.toBuffer;
  type._fromBuffer = methods.fromBuffer;
  type._fromJSON = methods.fromJSON;
  type._toJSON = methods.toJSON;
  type._isValid = methods.isValid;
  type.compare = methods.compare;
  const writeViaBytes = (template as unknown as { _write: WriteLong })._write;
  type._write = function (this: unknown, tap: LongTap, value: unknown): void {
    if (typeof value === 'bigint' && value < EXACT_AS_NUMBER && value > -EXACT_AS_NUMBER)
      tap.writeLong(Number(value));
    else writeViaBytes.call(this, tap, value);
  } satisfies WriteLong;
  const readViaBytes = (template as unknown as { _read: ReadLong })._read;
  type._read = function (this: unknown, tap: LongTap): bigint | undefined {
    const buf = tap.buf;
    const start = tap.pos;
    let pos = start;
    let byte = buf[pos++]!;
    let zigzag = byte & 0x7f;
    for (let scale = 128; byte >= 0x80 && pos - start < NUMBER_VARINT_BYTES; scale *= 128) {
      byte = buf[pos++]!;
      zigzag += (byte & 0x7f) * scale;
    }
    if (byte >= 0x80 || zigzag > Number.MAX_SAFE_INTEGER) return readViaBytes.call(this, tap);
    // A truncated value leaves the tap invalid (past its end), which avsc reports; as its own read does.
    tap.pos = pos;
    if (pos > buf.length) return undefined;
    return BigInt(zigzag % 2 === 1 ? -(zigzag + 1) / 2 : zigzag / 2);
  } satisfies ReadLong;
  return Object.freeze(type) as unknown as avsc.types.LongType;
}

export const bigintLongType: avsc.types.LongType = fastLongType();

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
