/**
 * What differs between databases when reading a table for verification, and nothing else: the connection,
 * the catalog (which native type is which neutral kind), identifier quoting, placeholders, and the SQL that
 * makes values and key order agree across databases (kinds.ts, normalize.ts). The chunk-boundary and
 * range-scan loops that use it are written once, in verify-reader.ts.
 */
import { asCdcError, type CdcError } from '../../common/errors.ts';
import { redactUrl } from '../../common/logger.ts';
import type { QualifiedName } from '../../schemas/events/table-names.ts';
import type { NeutralKind, TableShape, VerifyColumn } from './types.ts';

/** A value as a dialect hands it over: the database's text, bytes for binary columns, or null for SQL NULL. */
export type RawValue = string | Uint8Array | null;

export interface ReaderDialect {
  readonly name: 'postgres' | 'mysql';
  /** The schema of a table named without one (PostgreSQL `public`, MariaDB the URL's database), or null. */
  readonly defaultSchema: string | null;
  /** Base tables outside the system schemas, in name order. */
  listTables(): Promise<QualifiedName[]>;
  /** The table's columns, each classified into a neutral kind, and its primary key; null when it does not exist. */
  describe(name: QualifiedName): Promise<TableShape | null>;
  quote(identifier: string): string;
  /** The `position`-th (1-based) bound parameter. */
  placeholder(position: number): string;
  /** Reads a column as the text (or bytes) normalize.ts expects for its kind. */
  selectExpression(column: VerifyColumn): string;
  /** What a key column is ordered and compared by: text-like keys in the byte order of their UTF-8 text. */
  orderExpression(column: VerifyColumn, kind: NeutralKind): string;
  /** The `position`-th parameter holding a key value, cast so it compares as `orderExpression` orders. */
  keyPlaceholder(position: number, kind: NeutralKind): string;
  /** The parameter for a normalized key value. */
  keyParam(kind: NeutralKind, value: string): unknown;
  /** Runs a SELECT; each row an array of its values in select-list order. */
  query(text: string, params: readonly unknown[]): Promise<RawValue[][]>;
  close(): Promise<void>;
}

/**
 * A reader's connection that could not be opened: as `refused` when the server refused it for a reason of
 * security (not retried), else unreachable, naming the URL without its password.
 */
export function readerUnreachable(
  error: unknown,
  role: 'source' | 'target',
  url: string,
  refused: CdcError | null,
): CdcError {
  return (
    refused ??
    asCdcError(
      error,
      role === 'source' ? 'SOURCE_UNREACHABLE' : 'TARGET_UNREACHABLE',
      `cannot connect to the ${role} ${redactUrl(url)}`,
    )
  );
}
