/**
 * Agreeing on how to compare a column and how to order a key when the two sides' native types differ.
 *
 * Key order must be the same in both databases, or chunk boundaries taken on the source would cut the target
 * elsewhere. Numbers (integers, decimals, floats, booleans) and temporal values order natively, which agrees
 * across dialects. Everything text-like (text, uuid, json, bit) orders by the bytes of its UTF-8 text:
 * PostgreSQL `COLLATE "C"`, MariaDB a cast to binary. Natural-language collations (en_US, utf8mb4_unicode_ci)
 * disagree on case, accents and punctuation, so they are never used for chunking.
 */
import type { NeutralKind } from './types.ts';

export type KeyOrder = 'numeric' | 'temporal' | 'bytes' | 'text';

export function keyOrderOf(kind: NeutralKind): KeyOrder {
  switch (kind) {
    case 'integer':
    case 'boolean':
    case 'decimal':
    case 'float':
      return 'numeric';
    case 'timestamp':
    case 'date':
    case 'time':
      return 'temporal';
    case 'bytes':
      return 'bytes';
    case 'text':
    case 'json':
    case 'uuid':
    case 'bit':
    case 'array': // only a PostgreSQL replica can have an array key; both sides order it by its text
      return 'text';
  }
}

const NUMERIC_KINDS: readonly NeutralKind[] = ['integer', 'boolean', 'decimal'];

/**
 * The kind both sides normalize a column with. Equal kinds stay; integers, booleans and decimals meet as
 * `integer`, whose normalization reads all three (true/false as 1/0, decimals without trailing zeros); a plain text side takes the other side's more
 * specific kind (json kept as text, a uuid in a char column). Anything else compares as the source's kind, so a
 * PostgreSQL array meets the JSON (or, for a declared multi-dimensional array, the text) it becomes on a
 * MariaDB replica as an array.
 */
export function unifyKinds(source: NeutralKind, target: NeutralKind): NeutralKind {
  if (source === target) return source;
  if (NUMERIC_KINDS.includes(source) && NUMERIC_KINDS.includes(target)) {
    return 'integer';
  }
  if (source === 'text') return target;
  if (target === 'array' && source === 'json') return 'array';
  return source;
}
