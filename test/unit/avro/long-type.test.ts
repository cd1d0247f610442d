/** The bigint long writes exactly the bytes avsc's own Buffer-based custom long writes, over the whole 64-bit range. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avsc from 'avsc';
import { bigintLongType, parseAvroType } from '../../../schemas/avro/long-type.ts';

/** The same long as avsc builds it from the methods alone: every value through an 8-byte Buffer. */
const viaBytes = avsc.types.LongType.__with({
  fromBuffer: (buffer: Buffer): bigint => buffer.readBigInt64LE(0),
  toBuffer: (value: bigint): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt.asIntN(64, value), 0);
    return buffer;
  },
  fromJSON: (value: unknown): bigint => BigInt(value as string),
  toJSON: (value: bigint): number => Number(value),
  isValid: (value: unknown): boolean => typeof value === 'bigint',
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

function values(): bigint[] {
  const out = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 63n];
  for (let bits = 1n; bits <= 64n; bits++) {
    const edge = 2n ** bits;
    for (const delta of [-2n, -1n, 0n, 1n]) out.push(edge + delta, -(edge + delta));
  }
  // Pseudo-random values of every magnitude (a fixed LCG: the test is repeatable).
  let seed = 12345n;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
    out.push(BigInt.asIntN(64, seed) >> BigInt(i % 64));
  }
  return out.filter((value) => value >= -(2n ** 63n) && value < 2n ** 64n);
}

test('every 64-bit value encodes to the same bytes as through a Buffer, and reads back exactly', () => {
  for (const value of values()) {
    const fast = bigintLongType.toBuffer(value);
    assert.deepStrictEqual(fast, viaBytes.toBuffer(value), `bytes of ${value}`);
    assert.equal(bigintLongType.fromBuffer(fast), BigInt.asIntN(64, value), `read back of ${value}`);
  }
});

test('inside a record the long keeps its bytes and still refuses a number or an out-of-range bigint', () => {
  const schema = { type: 'record', name: 'r', fields: [{ name: 'n', type: 'long' }] };
  const type = parseAvroType(schema);
  const reference = avsc.Type.forSchema(schema as avsc.Schema, { registry: { long: viaBytes } });
  for (const n of [0n, -(2n ** 52n), 2n ** 52n - 1n, 1_700_000_000_000_000n, -(2n ** 63n)])
    assert.deepStrictEqual(type.toBuffer({ n }), reference.toBuffer({ n }), `record with ${n}`);
  assert.throws(() => type.toBuffer({ n: 5 }));
  assert.throws(() => type.toBuffer({ n: 2n ** 64n }));
});

test('a truncated long is refused, short or long', () => {
  for (const bytes of [[0x80], [0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]])
    assert.throws(
      () => bigintLongType.fromBuffer(Buffer.from(bytes)),
      /truncated/,
      `bytes ${bytes.join(',')}`,
    );
});
