/**
 * Maps a PostgreSQL column's catalog description to the dialect-neutral ColumnType. Pure: the catalog
 * query (catalog.ts) gathers the facts, this file only decides.
 */
import type { ColumnType } from '../../../schemas/events/table-schema.ts';

export interface PgTypeFacts {
  /** Type name in pg_catalog (`int8`, `varchar`) or the user type's name; domains already resolved to their base. */
  readonly name: string;
  readonly schema: string;
  /** pg_type.typtype: b base, e enum, c composite, r range, m multirange, p pseudo. */
  readonly kind: string;
  /** Labels in sort order when kind is 'e'. */
  readonly enumLabels?: readonly string[];
}

export interface PgColumnFacts {
  readonly type: PgTypeFacts;
  /** Element type when the column is an array. */
  readonly element: PgTypeFacts | null;
  readonly typmod: number;
  /** Declared array dimensions (pg_attribute.attndims); 0 when not an array or not declared. */
  readonly dimensions?: number;
}

export function columnTypeOf(column: PgColumnFacts): ColumnType {
  // A column declared with several dimensions (int8[][]) travels as PostgreSQL's own array text: exact, and
  // a PostgreSQL replica parses it back; Avro arrays here are one-dimensional.
  if (column.element && (column.dimensions ?? 0) > 1) return { kind: 'text' };
  if (column.element) return { kind: 'array', element: scalarType(column.element, column.typmod) };
  return scalarType(column.type, column.typmod);
}

function scalarType(type: PgTypeFacts, typmod: number): ColumnType {
  if (type.kind === 'e') return { kind: 'enum', values: type.enumLabels ?? [] };
  if (type.schema !== 'pg_catalog') return { kind: 'text' };
  const modifier = typmod >= 0 ? typmod : null;
  switch (type.name) {
    case 'bool':
      return { kind: 'boolean' };
    case 'int2':
      return { kind: 'int16' };
    case 'int4':
    case 'oid':
      return { kind: 'int32' };
    case 'int8':
      return { kind: 'int64' };
    case 'float4':
      return { kind: 'float32' };
    case 'float8':
      return { kind: 'float64' };
    case 'numeric':
      return modifier === null ? { kind: 'decimal' } : { kind: 'decimal', ...numericTypmod(modifier) };
    case 'varchar':
      return modifier === null ? { kind: 'string' } : { kind: 'string', maxLength: modifier - 4 };
    case 'bpchar':
      return modifier === null
        ? { kind: 'string', fixed: true }
        : { kind: 'string', maxLength: modifier - 4, fixed: true };
    case 'text':
    case 'name':
    case 'citext':
      return { kind: 'string' };
    case 'bytea':
      return { kind: 'bytes' };
    case 'uuid':
      return { kind: 'uuid' };
    case 'json':
      return { kind: 'json' };
    case 'jsonb':
      return { kind: 'json', binary: true };
    case 'date':
      return { kind: 'date' };
    case 'time':
      return modifier === null ? { kind: 'time' } : { kind: 'time', precision: modifier };
    case 'timetz':
      return modifier === null
        ? { kind: 'time', withTimeZone: true }
        : { kind: 'time', precision: modifier, withTimeZone: true };
    case 'timestamp':
      return modifier === null ? { kind: 'timestamp' } : { kind: 'timestamp', precision: modifier };
    case 'timestamptz':
      return modifier === null ? { kind: 'timestamptz' } : { kind: 'timestamptz', precision: modifier };
    case 'interval':
      return { kind: 'interval' };
    case 'bit':
    case 'varbit':
      return { kind: 'bit', length: modifier ?? 0 };
    default:
      return { kind: 'text' };
  }
}

/**
 * numeric's typmod packs ((precision << 16) | (scale & 0x7ff)) + 4. Since PostgreSQL 15 the scale may be
 * negative (numeric(5,-2) rounds to hundreds) or above the precision, so it is an 11-bit two's complement
 * number, read as PostgreSQL's own numeric_typmod_scale does.
 */
export function numericTypmod(typmod: number): { precision: number; scale: number } {
  const packed = typmod - 4;
  return { precision: (packed >> 16) & 0xffff, scale: ((packed & 0x7ff) ^ 1024) - 1024 };
}
