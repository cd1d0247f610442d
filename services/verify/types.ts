/**
 * The vocabulary of verification: what a reader tells about a table, the key ranges chunks cover, and the
 * report. Values cross this boundary only as normalized text (normalize.ts), so a PostgreSQL reader and a
 * MariaDB reader describe equal data identically.
 */

/**
 * How a column's values are normalized before hashing. Each reader classifies its own native types; booleans
 * and integers share one form ("1"/"0"), so a MariaDB TINYINT(1) compares with a PostgreSQL boolean.
 */
export type NeutralKind =
  | 'integer'
  | 'boolean'
  | 'decimal'
  | 'float'
  | 'text'
  | 'bytes'
  | 'json'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'uuid'
  | 'bit'
  /** A PostgreSQL array, or the JSON array it becomes on a MariaDB replica: compared element by element. */
  | 'array';

export interface VerifyColumn {
  readonly name: string;
  readonly kind: NeutralKind;
  /** The native type as the database prints it, for messages. */
  readonly nativeType: string;
  /**
   * The dialect's own name for the column's base type (PostgreSQL: `typname` of the type or of a domain's
   * base type; MariaDB: `DATA_TYPE`), which decides how its reader dialect selects the column.
   */
  readonly baseType: string;
  /** The kind of an array's elements (kind `array` only): how each element is normalized. */
  readonly element?: NeutralKind;
}

/** A table as a reader sees it: schema-qualified name, columns in ordinal order, primary key columns. */
export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly VerifyColumn[];
  readonly key: readonly string[];
}

/** A key as normalized text per key column, in key order. */
export type KeyTuple = readonly string[];

/**
 * The rows with from < key <= to (tuple order, see key-order.ts); null bounds are open. The first chunk
 * starts at null and the last ends at null, so rows below or above everything the source has are covered.
 */
export interface KeyRange {
  readonly from: KeyTuple | null;
  readonly to: KeyTuple | null;
}

/** A column to read, with the kind both sides agreed on (kinds.ts) for normalizing its values. */
export interface ScanColumn {
  readonly name: string;
  readonly kind: NeutralKind;
  /** The elements' kind when `kind` is `array` (text when not known). */
  readonly element?: NeutralKind;
}

/** One row as read: its normalized key, and every scanned column's normalized value (null for SQL NULL). */
export interface NormalizedRow {
  readonly key: KeyTuple;
  readonly values: readonly (string | null)[];
}

/**
 * What verification needs from a database: one implementation (verify-reader.ts) over a reader dialect per
 * database (reader-dialect.ts).
 */
export interface TableReader {
  readonly dialect: 'postgres' | 'mysql';
  /** `schema.table` names (MariaDB: `database.table`) of base tables matching the patterns, in name order. */
  listTables(patterns: readonly string[]): Promise<string[]>;
  /** The table's columns and primary key, or null when it does not exist. */
  describe(table: string): Promise<TableShape | null>;
  /**
   * The key of the `rows`-th row after `after` in key order (from the start when null), or null when fewer
   * rows remain: the upper bound of the next chunk.
   */
  boundaryAfter(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    after: KeyTuple | null,
    rows: number,
  ): Promise<KeyTuple | null>;
  /** Streams the rows of `range` in key order, normalized with the given kinds. */
  scanRange(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    columns: readonly ScanColumn[],
    range: KeyRange,
    onRow: (row: NormalizedRow) => void,
  ): Promise<void>;
  close(): Promise<void>;
}

/** A key in a report: key column name → normalized value. */
export type RowKey = Readonly<Record<string, string>>;

export interface DifferingRange {
  /** Exclusive lower bound, null for the start of the table. */
  readonly from: RowKey | null;
  /** Inclusive upper bound, null for the end of the table. */
  readonly to: RowKey | null;
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Keys the source has and the target lacks (at most maxKeysPerRange; the counts say how many in all). */
  readonly missingOnTarget: readonly RowKey[];
  /** Keys the target has and the source lacks. */
  readonly extraOnTarget: readonly RowKey[];
  /** Keys on both sides whose values differ. */
  readonly differentRows: readonly RowKey[];
  readonly missingCount: number;
  readonly extraCount: number;
  readonly differentCount: number;
}

export interface TableVerifyReport {
  /** The source table, `schema.table`. */
  readonly table: string;
  /** The target table compared with it. */
  readonly targetTable: string;
  /** Chunks (key ranges) the table was compared in. */
  readonly chunks: number;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly equal: boolean;
  /** Ranges still different after the last recheck. */
  readonly differingRanges: readonly DifferingRange[];
  /** Source columns the target table does not have (never compared; the table is not equal). */
  readonly columnsMissingOnTarget: readonly string[];
  /** Source columns left out or masked at capture (the source's `columns`): the replica lacks or masks them. */
  readonly columnsNotCompared: readonly string[];
  /** How many times differing ranges were read again. */
  readonly rechecks: number;
  readonly durationMs: number;
}

export interface RecheckOptions {
  /** Most rechecks of the differing ranges after the first pass. */
  readonly attempts: number;
  /** Stop as soon as nothing differs (default true); when false every attempt runs. */
  readonly untilEqual?: boolean;
  /**
   * Awaited before each recheck: the caller's condition that the replica caught up (for example "the
   * replica's applied position reached the source's position as of now"), or a plain delay.
   */
  readonly wait: (attempt: number) => Promise<void>;
}
