/**
 * What each mask does to one column: which column types it takes, the column it turns a column into (what the
 * Avro schema and the replicas then see) and the value it writes. Pure, so capture of both connectors, snapshot
 * and stream alike, masks the same value the same way.
 */
import { createHmac } from 'node:crypto';
import { CdcError } from '../../common/errors.ts';
import type { Value } from '../../schemas/events/change-event.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../schemas/events/table-schema.ts';
import { DEFAULT_REDACT_CHARS, type MaskConfig } from '../config/columns.ts';

export type ColumnMask =
  | { readonly kind: 'redact'; readonly chars: number }
  | { readonly kind: 'hash'; readonly secret: string }
  | { readonly kind: 'truncate'; readonly chars: number };

/** Hex of HMAC-SHA-256. */
const HASH_CHARS = 64;

export function columnMask(config: MaskConfig): ColumnMask {
  if (config === 'redact') return { kind: 'redact', chars: DEFAULT_REDACT_CHARS };
  if ('redact' in config) return { kind: 'redact', chars: config.redact };
  if ('hash' in config) return { kind: 'hash', secret: config.hash.secret };
  return { kind: 'truncate', chars: config.truncate };
}

/** The mask as the configuration writes it, for messages: never the secret. */
export function describeMask(mask: ColumnMask): string {
  switch (mask.kind) {
    case 'redact':
      return `{ redact: ${mask.chars} }`;
    case 'hash':
      return '{ hash }';
    case 'truncate':
      return `{ truncate: ${mask.chars} }`;
  }
}

/** Why `mask` cannot apply to `column`, or null when it can. */
export function maskRefusal(mask: ColumnMask, column: ColumnSchema): string | null {
  switch (mask.kind) {
    case 'redact':
      return null;
    case 'hash':
      // The hash is of the value's exact text; these have none both capture paths agree on.
      if (column.type.kind === 'float32' || column.type.kind === 'float64')
        return `hash needs the exact text of a value, which a floating-point column (${column.sourceType}) does not have (its snapshot and stream readings can differ in the last digit): use redact, or exclude it`;
      if (column.type.kind === 'array')
        return `hash takes one value, not an array (${column.sourceType}): use redact, or exclude it`;
      return null;
    case 'truncate':
      return column.type.kind === 'string'
        ? null
        : `truncate applies to character columns (char, varchar, text), not ${column.sourceType}: use redact or hash`;
  }
}

/** The column as the events carry it after masking: redacted and hashed values are text of a known length. */
export function maskedColumn(mask: ColumnMask, column: ColumnSchema, table: TableSchema): ColumnSchema {
  const masked = (type: ColumnType, sourceType: string): ColumnSchema => {
    const { default: fallback, ...rest } = column;
    const result = { ...rest, type, sourceType };
    // A constant default is a value too: a replica adding the column gives existing rows the masked one.
    return fallback === undefined ? result : { ...result, default: String(maskValue(mask, fallback)) };
  };
  switch (mask.kind) {
    case 'redact':
      return masked({ kind: 'string', maxLength: mask.chars }, varcharType(table, mask.chars));
    case 'hash':
      return masked(
        { kind: 'string', maxLength: HASH_CHARS, fixed: true },
        table.dialect === 'postgres' ? `character(${HASH_CHARS})` : `char(${HASH_CHARS})`,
      );
    case 'truncate':
      return masked(column.type, column.sourceType);
  }
}

function varcharType(table: TableSchema, length: number): string {
  return table.dialect === 'postgres' ? `character varying(${length})` : `varchar(${length})`;
}

/** The masked value; NULL stays NULL (a mask hides a value, not whether there is one). */
export function maskValue(mask: ColumnMask, value: Value): Value {
  if (value === null) return null;
  switch (mask.kind) {
    case 'redact':
      return '*'.repeat(mask.chars);
    case 'hash':
      return createHmac('sha256', mask.secret).update(hashInput(value)).digest('hex');
    case 'truncate':
      return truncated(value, mask.chars);
  }
}

/** The bytes a value is hashed from: bytes as they are, anything else as its canonical text in UTF-8. */
function hashInput(value: Exclude<Value, null>): Uint8Array | string {
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  // maskRefusal keeps floats and arrays away from hash; reaching here is a bug, and the value must not show.
  throw new CdcError('INTERNAL', 'a hash mask met a value it does not take (a float or an array)', {});
}

/** The first `chars` characters, counted in code points so a character is never cut in half. */
function truncated(value: Exclude<Value, null>, chars: number): Value {
  if (typeof value !== 'string')
    throw new CdcError('INTERNAL', 'a truncate mask met a value that is not text', {});
  let end = 0;
  for (let kept = 0; kept < chars && end < value.length; kept++)
    end += (value.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  return value.slice(0, end);
}
