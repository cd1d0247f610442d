/**
 * Hashing normalized rows. A row is encoded as its values in column order, each either `N` (SQL NULL) or
 * `V<byte length>:<text>`, so NULL and the empty string differ and no two rows share an encoding. A chunk's
 * hash is sha256 over its rows' encodings in key order, updated row by row as they stream in; each row's own
 * digest is kept so a differing chunk can be compared row by row without reading it again.
 */
import { createHash, type Hash } from 'node:crypto';
import type { KeyTuple, NormalizedRow } from './types.ts';

export function encodeRow(values: readonly (string | null)[]): string {
  let encoded = '';
  for (const value of values) {
    encoded += value === null ? 'N' : `V${Buffer.byteLength(value, 'utf8')}:${value}`;
  }
  return encoded;
}

/** A map key for a key tuple: unambiguous for any text. */
export function keyId(key: KeyTuple): string {
  return JSON.stringify(key);
}

export interface RowDigest {
  readonly key: KeyTuple;
  readonly digest: string;
}

/** The rows of one side of one chunk: count, chunk hash, and per-row digests by key. */
export class ChunkDigest {
  #hash: Hash = createHash('sha256');
  #rows = new Map<string, RowDigest>();
  #final: string | null = null;

  add(row: NormalizedRow): void {
    const encoded = encodeRow(row.values);
    this.#hash.update(encoded, 'utf8');
    this.#hash.update('\n');
    this.#rows.set(keyId(row.key), {
      key: row.key,
      digest: createHash('sha256').update(encoded, 'utf8').digest('base64'),
    });
  }

  get rowCount(): number {
    return this.#rows.size;
  }

  get rows(): ReadonlyMap<string, RowDigest> {
    return this.#rows;
  }

  /** The chunk hash (hex); the digest is final once read. */
  digest(): string {
    this.#final ??= this.#hash.digest('hex');
    return this.#final;
  }
}
