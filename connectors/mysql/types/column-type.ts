/**
 * Maps a MySQL/MariaDB column definition (information_schema.COLUMNS) to the dialect-neutral ColumnType.
 * Integer kinds are the smallest neutral kind holding the whole range, signed or not, so no value overflows.
 */
import type { ColumnType } from '../../../schemas/events/table-schema.ts';

export interface CatalogColumn {
  readonly name: string;
  /** DATA_TYPE: `int`, `varchar`, `uuid`, ... */
  readonly dataType: string;
  /** COLUMN_TYPE: `int(10) unsigned`, `enum('a','b')`, ... */
  readonly columnType: string;
  readonly maxLength: number | null;
  readonly precision: number | null;
  readonly scale: number | null;
  readonly datetimePrecision: number | null;
  /** MariaDB keeps JSON as LONGTEXT with a json_valid() check constraint: that constraint tells it apart. */
  readonly isJson: boolean;
}

/** Splits the quoted value list of `enum('a','b''c')` / `set(...)` as the server prints it. */
export function parseValueList(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const body = columnType.slice(open + 1, columnType.lastIndexOf(')'));
  const values: string[] = [];
  const pattern = /'((?:[^'\\]|''|\\.)*)'/g;
  for (let match = pattern.exec(body); match; match = pattern.exec(body)) {
    values.push(match[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1'));
  }
  return values;
}

export function columnTypeOf(column: CatalogColumn): ColumnType {
  const unsigned = /\bunsigned\b/i.test(column.columnType);
  const fractional = column.datetimePrecision ?? 0;
  switch (column.dataType.toLowerCase()) {
    case 'tinyint':
      return { kind: 'int16' };
    case 'smallint':
      return { kind: unsigned ? 'int32' : 'int16' };
    case 'mediumint':
      return { kind: 'int32' };
    case 'int':
    case 'integer':
      return { kind: unsigned ? 'int64' : 'int32' };
    case 'bigint':
      return { kind: unsigned ? 'uint64' : 'int64' };
    case 'decimal':
    case 'numeric':
      return {
        kind: 'decimal',
        ...(column.precision !== null ? { precision: column.precision } : {}),
        ...(column.scale !== null ? { scale: column.scale } : {}),
      };
    case 'float':
      return { kind: 'float32' };
    case 'double':
    case 'real':
      return { kind: 'float64' };
    case 'date':
      return { kind: 'date' };
    case 'datetime':
      return { kind: 'timestamp', precision: fractional };
    case 'timestamp':
      return { kind: 'timestamptz', precision: fractional };
    case 'time':
      return { kind: 'time', precision: fractional };
    case 'year':
      return { kind: 'int16' };
    case 'char':
    case 'varchar':
      return {
        kind: 'string',
        ...(column.maxLength !== null ? { maxLength: column.maxLength } : {}),
        fixed: column.dataType === 'char',
      };
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return column.isJson ? { kind: 'json' } : { kind: 'string' };
    case 'json':
      return { kind: 'json', binary: true };
    case 'binary':
    case 'varbinary':
      return {
        kind: 'bytes',
        ...(column.maxLength !== null ? { maxLength: column.maxLength } : {}),
        fixed: column.dataType === 'binary',
      };
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return { kind: 'bytes' };
    case 'enum':
      return { kind: 'enum', values: parseValueList(column.columnType) };
    case 'set':
      return { kind: 'set', values: parseValueList(column.columnType) };
    case 'bit':
      return { kind: 'bit', length: column.precision ?? 1 };
    case 'uuid':
      return { kind: 'uuid' };
    default:
      return { kind: 'text' };
  }
}

/** A catalog column from nothing but a COLUMN_TYPE text (`decimal(8,2)`, `varchar(20)`, `datetime(6)`). */
export function catalogColumnFromType(name: string, columnType: string): CatalogColumn {
  const dataType = (/^[a-z]+/i.exec(columnType)?.[0] ?? columnType).toLowerCase();
  const args =
    /\(([^)]*)\)/
      .exec(columnType)?.[1]
      ?.split(',')
      .map((part) => Number(part.trim())) ?? [];
  const first = args[0] !== undefined && Number.isFinite(args[0]) ? args[0] : null;
  const second = args[1] !== undefined && Number.isFinite(args[1]) ? args[1] : null;
  const temporal = ['datetime', 'timestamp', 'time'].includes(dataType);
  const numeric = ['decimal', 'numeric', 'bit'].includes(dataType);
  return {
    name,
    dataType,
    columnType,
    maxLength: !temporal && !numeric ? first : null,
    precision: numeric ? first : null,
    scale: numeric ? second : null,
    datetimePrecision: temporal ? (first ?? 0) : null,
    isJson: false,
  };
}
