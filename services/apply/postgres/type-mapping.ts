/**
 * Which PostgreSQL type a target column gets. A PostgreSQL source keeps its own type text (`sourceType`,
 * as format_type prints it) so the replica is exact; other dialects map the neutral ColumnType:
 *
 * | ColumnType                  | PostgreSQL type                               | why                                    |
 * |-----------------------------|-----------------------------------------------|----------------------------------------|
 * | boolean                     | boolean                                       |                                        |
 * | int16 / int32 / int64       | smallint / integer / bigint                   |                                        |
 * | uint64                      | numeric(20,0)                                 | 2^64-1 does not fit bigint             |
 * | float32 / float64           | real / double precision                       |                                        |
 * | decimal(p,s)                | numeric(p,s), or numeric when unconstrained   | exact                                  |
 * | string maxLength fixed      | character(n)                                  |                                        |
 * | string maxLength            | character varying(n)                          |                                        |
 * | string                      | text                                          |                                        |
 * | bytes                       | bytea                                         |                                        |
 * | uuid                        | uuid                                          |                                        |
 * | json                        | jsonb                                         | MySQL JSON is normalized like jsonb    |
 * | date                        | date                                          |                                        |
 * | time(p) [withTimeZone]      | time(p) without/with time zone                |                                        |
 * | timestamp(p)                | timestamp(p) without time zone                |                                        |
 * | timestamptz(p)              | timestamp(p) with time zone                   |                                        |
 * | interval                    | interval                                      |                                        |
 * | enum, set                   | text                                          | value lists change without DDL         |
 * | bit(n)                      | bit varying(n)                                | MySQL BIT values need no padding       |
 * | array of T                  | T[]                                           |                                        |
 * | text (anything else)        | text                                          | carried as the source's text form      |
 */
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';

function withPrecision(name: string, precision: number | undefined, suffix = ''): string {
  return precision === undefined ? `${name}${suffix}` : `${name}(${precision})${suffix}`;
}

export function mapColumnType(type: ColumnType): string {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'integer';
    case 'int64':
      return 'bigint';
    case 'uint64':
      return 'numeric(20,0)';
    case 'float32':
      return 'real';
    case 'float64':
      return 'double precision';
    case 'decimal':
      if (type.precision === undefined) return 'numeric';
      return `numeric(${type.precision},${type.scale ?? 0})`;
    case 'string':
      if (type.maxLength === undefined) return 'text';
      return `${type.fixed ? 'character' : 'character varying'}(${type.maxLength})`;
    case 'bytes':
      return 'bytea';
    case 'uuid':
      return 'uuid';
    case 'json':
      return 'jsonb';
    case 'date':
      return 'date';
    case 'time':
      return withPrecision(
        'time',
        type.precision,
        type.withTimeZone ? ' with time zone' : ' without time zone',
      );
    case 'timestamp':
      return withPrecision('timestamp', type.precision, ' without time zone');
    case 'timestamptz':
      return withPrecision('timestamp', type.precision, ' with time zone');
    case 'interval':
      return 'interval';
    case 'enum':
    case 'set':
    case 'text':
      return 'text';
    case 'bit':
      return `bit varying(${type.length})`;
    case 'array':
      return `${mapColumnType(type.element)}[]`;
  }
}

/** The type a target column is declared with. */
export function declaredType(table: TableSchema, column: ColumnSchema): string {
  return table.dialect === 'postgres' ? column.sourceType : mapColumnType(column.type);
}

/** An enum type the target needs before a table of a PostgreSQL source can use it. */
export interface EnumTypeNeed {
  /** The type name as the source printed it (without array brackets). */
  readonly typeName: string;
  readonly values: readonly string[];
}

export function enumTypeNeeds(table: TableSchema): EnumTypeNeed[] {
  if (table.dialect !== 'postgres') return [];
  const needs: EnumTypeNeed[] = [];
  for (const column of table.columns) {
    let type = column.type;
    let typeName = column.sourceType.trim();
    while (type.kind === 'array' && typeName.endsWith('[]')) {
      type = type.element;
      typeName = typeName.slice(0, -2).trimEnd();
    }
    if (type.kind === 'enum') needs.push({ typeName, values: type.values });
  }
  return needs;
}

const ALIASES: Readonly<Record<string, string>> = {
  int8: 'bigint',
  int4: 'integer',
  int: 'integer',
  int2: 'smallint',
  float8: 'double precision',
  float4: 'real',
  bool: 'boolean',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
  decimal: 'numeric',
  varbit: 'bit varying',
  timestamptz: 'timestamp with time zone',
  timetz: 'time with time zone',
  timestamp: 'timestamp without time zone',
  time: 'time without time zone',
};

/**
 * Normalizes a type name to format_type's spelling so a declared type compares with the catalog's
 * (`int8` and `bigint`, `varchar(40)` and `character varying(40)`, `timestamptz(3)` and
 * `timestamp(3) with time zone`). Unknown names compare as written, lowercased.
 */
export function normalizeTypeName(text: string): string {
  let rest = text.trim().replace(/\s+/g, ' ');
  let arrays = '';
  while (rest.endsWith('[]')) {
    arrays += '[]';
    rest = rest.slice(0, -2).trimEnd();
  }
  if (rest.includes('"')) return `${rest}${arrays}`;
  rest = rest
    .toLowerCase()
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\)/g, ')');
  const match = /^([a-z_][a-z0-9_ .]*?)(\(\d+(?:,\d+)?\))?( with(?:out)? time zone)?$/.exec(rest);
  if (!match) return `${rest}${arrays}`;
  const [, base = '', modifier = '', zone = ''] = match;
  if (zone !== '') return `${base}${modifier}${zone}${arrays}`;
  let name = ALIASES[base] ?? base;
  if (name === 'character' && modifier === '') name = 'character(1)';
  const zoned = / with(?:out)? time zone$/.exec(name);
  if (zoned) return `${name.slice(0, zoned.index)}${modifier}${zoned[0]}${arrays}`;
  return `${name}${modifier}${arrays}`;
}
