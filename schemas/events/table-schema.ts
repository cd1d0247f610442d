import type { UserType } from './user-type.ts';

/**
 * Dialect-neutral description of a captured table: what the Avro value schema is derived from, and what an
 * apply worker creates or alters the target table from. Each column keeps its source type text as well, so a
 * same-dialect replica can recreate it exactly and a cross-dialect one can map the neutral type.
 */
export type ColumnType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'int16' }
  | { readonly kind: 'int32' }
  | { readonly kind: 'int64' }
  /** Unsigned 64-bit (MySQL BIGINT UNSIGNED): values up to 2^64-1, carried as bigint. */
  | { readonly kind: 'uint64' }
  | { readonly kind: 'float32' }
  | { readonly kind: 'float64' }
  /** Exact decimal carried as its canonical text; precision/scale absent for unconstrained numeric. */
  | { readonly kind: 'decimal'; readonly precision?: number; readonly scale?: number }
  | { readonly kind: 'string'; readonly maxLength?: number; readonly fixed?: boolean }
  | { readonly kind: 'bytes'; readonly maxLength?: number; readonly fixed?: boolean }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'json'; readonly binary?: boolean }
  | { readonly kind: 'date' }
  | { readonly kind: 'time'; readonly precision?: number; readonly withTimeZone?: boolean }
  | { readonly kind: 'timestamp'; readonly precision?: number }
  | { readonly kind: 'timestamptz'; readonly precision?: number }
  | { readonly kind: 'interval' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'set'; readonly values: readonly string[] }
  | { readonly kind: 'bit'; readonly length: number }
  | { readonly kind: 'array'; readonly element: ColumnType }
  /** Anything else: passed through as the source's text form. */
  | { readonly kind: 'text' };

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  /** The source's own type, e.g. `int8`, `numeric(12,2)`, `public.mood`, `varchar(40)`, `bigint unsigned`. */
  readonly sourceType: string;
  readonly nullable: boolean;
  /**
   * The column's constant default as the value's canonical text (the form the connectors decode values to:
   * `0`, `1.50`, `true`, `new`, `2024-01-01 00:00:00+00`); see column-default.ts. Absent when the column has
   * no default or its default is an expression (CURRENT_TIMESTAMP, nextval(), uuid()). A replica adding the
   * column gives its existing rows this value, as the source did.
   */
  readonly default?: string;
}

export interface TableRef {
  /** Source database name. */
  readonly database: string;
  /** PostgreSQL schema; for MySQL/MariaDB the database name again. */
  readonly schema: string;
  readonly table: string;
}

export interface TableSchema extends TableRef {
  readonly dialect: 'postgres' | 'mysql';
  readonly columns: readonly ColumnSchema[];
  /**
   * User-defined types the columns use (PostgreSQL sources), dependencies first; absent when there are none.
   * A same-dialect replica creates them before the table; other dialects map the neutral ColumnType.
   */
  readonly userTypes?: readonly UserType[];
  /** Columns identifying a row (primary key or replica identity index), in key order; empty when none. */
  readonly key: readonly string[];
  /** Whether `before` carries the whole old row (REPLICA IDENTITY FULL, binlog FULL image) or only the key. */
  readonly beforeImage: 'full' | 'key' | 'none';
}

export function tableId(ref: TableRef): string {
  return `${ref.schema}.${ref.table}`;
}
