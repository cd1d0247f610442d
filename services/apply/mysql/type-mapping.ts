/**
 * Which MariaDB/MySQL type a target column gets. A MySQL/MariaDB source keeps its own COLUMN_TYPE text
 * (`sourceType`) so the replica is exact; a PostgreSQL source maps the neutral ColumnType. docs/type-mapping.md
 * has the full table; the choices that lose something are explained where they are made below.
 */
import type { ColumnSchema, ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { literal, type Flavor } from './sql.ts';

/** InnoDB keys are at most 3072 bytes: 768 utf8mb4 characters. */
const MAX_KEY_CHARS = 768;
/** MariaDB cannot index TEXT/BLOB without a prefix length: unbounded key columns become VARCHAR(255)/VARBINARY(255). */
const UNBOUNDED_KEY_LENGTH = 255;
/** Wider VARCHARs would quickly break InnoDB's 65,535-byte row limit (4 bytes per utf8mb4 character). */
const MAX_VARCHAR = 16_383;
/** MariaDB's DECIMAL limits (MySQL allows a scale of 30 only: the lower bound of both is used). */
const MAX_DECIMAL_PRECISION = 65;
const MAX_DECIMAL_SCALE = 30;

function noTranslation(column: ColumnSchema, why: string): CdcError {
  return new CdcError(
    'APPLY_FAILED',
    `column ${JSON.stringify(column.name)} (${column.sourceType}) has no MariaDB/MySQL translation: ${why}`,
    { column: column.name, sourceType: column.sourceType },
  );
}

/** Bits that fit MariaDB's BIT(n) (1..64); longer (or unbounded) PostgreSQL bit strings are kept as text. */
export function fitsBitColumn(type: ColumnType): boolean {
  return type.kind === 'bit' && type.length >= 1 && type.length <= 64;
}

/** The target type of a neutral ColumnType (PostgreSQL sources). `key`: the column is part of the primary key. */
export function mapColumnType(column: ColumnSchema, type: ColumnType, flavor: Flavor, key: boolean): string {
  switch (type.kind) {
    case 'boolean':
      return 'tinyint(1)';
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'int';
    case 'int64':
      return 'bigint';
    case 'uint64':
      return 'bigint unsigned';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'decimal': {
      // Unconstrained numeric has no bound; DECIMAL(65,30) is the widest both servers take. Values with
      // more digits fail with a dead letter naming them instead of being rounded.
      if (type.precision === undefined) return `decimal(${MAX_DECIMAL_PRECISION},${MAX_DECIMAL_SCALE})`;
      const scale = type.scale ?? 0;
      if (type.precision > MAX_DECIMAL_PRECISION || scale > MAX_DECIMAL_SCALE || scale < 0)
        throw noTranslation(
          column,
          `DECIMAL allows at most ${MAX_DECIMAL_PRECISION} digits and a scale of ${MAX_DECIMAL_SCALE}`,
        );
      return `decimal(${type.precision},${scale})`;
    }
    case 'string': {
      const length = type.maxLength;
      if (key) return `varchar(${Math.min(length ?? UNBOUNDED_KEY_LENGTH, MAX_KEY_CHARS)})`;
      if (length === undefined) return 'longtext';
      if (type.fixed && length <= 255) return `char(${length})`;
      return length <= MAX_VARCHAR ? `varchar(${length})` : 'longtext';
    }
    case 'bytes': {
      const length = type.maxLength;
      if (key) return `varbinary(${Math.min(length ?? UNBOUNDED_KEY_LENGTH, 3072)})`;
      if (length === undefined) return 'longblob';
      if (type.fixed && length <= 255) return `binary(${length})`;
      return length <= 65_532 ? `varbinary(${length})` : 'longblob';
    }
    case 'uuid':
      return flavor === 'mariadb' ? 'uuid' : 'char(36)';
    case 'json':
      // MariaDB's JSON is LONGTEXT with a json_valid() check: the source's text is kept byte for byte.
      return 'json';
    case 'date':
      return 'date';
    case 'time':
      // MariaDB has no time with time zone; the value is kept as PostgreSQL prints it.
      return type.withTimeZone ? 'varchar(32)' : `time(${type.precision ?? 6})`;
    case 'timestamp':
      return `datetime(${type.precision ?? 6})`;
    case 'timestamptz':
      // DATETIME holds the UTC instant (values are converted to UTC); TIMESTAMP would stop at 2038.
      return `datetime(${type.precision ?? 6})`;
    case 'interval':
      // No interval type: PostgreSQL's text form (`1 year 2 mons 03:04:05`) is kept.
      return 'varchar(64)';
    case 'enum':
      if (type.values.length === 0) return key ? `varchar(${UNBOUNDED_KEY_LENGTH})` : 'longtext';
      return `enum(${type.values.map(literal).join(',')})`;
    case 'set':
      return `set(${type.values.map(literal).join(',')})`;
    case 'bit':
      return fitsBitColumn(type) ? `bit(${type.length})` : key ? 'varchar(255)' : 'longtext';
    case 'array':
      // No array type: a JSON array (nested for multi-dimensional arrays), numbers exact.
      if (key) throw noTranslation(column, 'an array cannot be a MariaDB/MySQL key column');
      return 'json';
    case 'text':
      return key ? `varchar(${UNBOUNDED_KEY_LENGTH})` : 'longtext';
  }
}

/** A MySQL/MariaDB source's own type, adjusted where the target cannot take it as it is. */
function sourceTypeFor(column: ColumnSchema, flavor: Flavor, key: boolean): string {
  const type = column.sourceType.trim().toLowerCase();
  if (flavor === 'mysql' && /^uuid\b/.test(type)) return 'char(36)';
  if (flavor === 'mysql' && /^inet[46]\b/.test(type)) return 'varchar(39)';
  // MariaDB prints its JSON columns as longtext: the neutral type remembers they were JSON.
  if (column.type.kind === 'json' && type === 'longtext') return 'json';
  if (key && /^(tiny|medium|long)?text\b/.test(type)) return `varchar(${UNBOUNDED_KEY_LENGTH})`;
  if (key && /^(tiny|medium|long)?blob\b/.test(type)) return `varbinary(${UNBOUNDED_KEY_LENGTH})`;
  return column.sourceType.trim();
}

/** The type a target column is declared with. */
export function declaredType(table: TableSchema, column: ColumnSchema, flavor: Flavor): string {
  const key = table.key.includes(column.name);
  return table.dialect === 'mysql'
    ? sourceTypeFor(column, flavor, key)
    : mapColumnType(column, column.type, flavor, key);
}

const INTEGER_TYPES = /^(tinyint|smallint|mediumint|int|bigint)\(\d+\)/;

/**
 * A type as the server prints it in SHOW COLUMNS, so a declared type compares with the catalog's:
 * integer display widths dropped (but tinyint(1), the boolean, kept), aliases resolved, `(0)` fractions
 * dropped, JSON as MariaDB's longtext.
 */
export function normalizeType(text: string, flavor: Flavor): string {
  let type = text.trim().replace(/\s+/g, ' ').toLowerCase();
  type = type
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\)/g, ')');
  if (type === 'boolean' || type === 'bool') return 'tinyint(1)';
  if (!type.startsWith('tinyint(1)')) type = type.replace(INTEGER_TYPES, '$1');
  type = type
    .replace(/^integer\b/, 'int')
    .replace(/^(double precision|real)\b/, 'double')
    .replace(/^(numeric|dec|fixed)\b/, 'decimal')
    .replace(/^decimal$/, 'decimal(10,0)')
    .replace(/^decimal\((\d+)\)/, 'decimal($1,0)')
    .replace(/^(datetime|timestamp|time)\(0\)/, '$1')
    .replace(/^char$/, 'char(1)')
    .replace(/^binary$/, 'binary(1)');
  if (flavor === 'mariadb' && type === 'json') return 'longtext';
  return type;
}
