/**
 * The Rabin fingerprint CRC-64-AVRO (Avro specification, "Schema Fingerprints"), which Avro's single-object
 * encoding puts in every message header. avsc only offers md5/sha256, so it is computed here, with the
 * specification's table-driven algorithm over the UTF-8 bytes of the Parsing Canonical Form.
 */
import { parsingCanonicalForm } from './canonical-form.ts';

const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    table.push(fp & MASK);
  }
  return table;
})();

/** The fingerprint as an unsigned 64-bit value (Java's `SchemaNormalization.parsingFingerprint64` reads it signed). */
export function rabinFingerprint(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  return fp;
}

export function schemaFingerprint(schema: unknown): bigint {
  return rabinFingerprint(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
}

/** The 8 bytes as they appear in a single-object encoding header: the fingerprint, little-endian. */
export function fingerprintBytes(fingerprint: bigint): Buffer {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigUInt64LE(fingerprint, 0);
  return bytes;
}
