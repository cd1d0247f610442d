/** SQL text helpers: identifiers are always quoted, never interpolated raw. */

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * Session settings that make the server print values in one canonical text form, on both the replication
 * (walsender) connection and the snapshot connection, so a row reads the same from either.
 */
export const CANONICAL_SESSION_OPTIONS =
  '-c DateStyle=ISO,MDY -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=1 -c bytea_output=hex -c search_path=pg_catalog';

/**
 * The capture's own sessions on the source (publication, watermarks, catalog reads, snapshot): canonical text,
 * and commits that never wait for a synchronous standby. With synchronous capture the capture itself is that
 * standby, and it confirms nothing until it streams: a CREATE or ALTER PUBLICATION made while it starts would
 * wait for it forever.
 */
export const LOCAL_COMMIT_OPTION = '-c synchronous_commit=local';
export const CAPTURE_SESSION_OPTIONS = `${CANONICAL_SESSION_OPTIONS} ${LOCAL_COMMIT_OPTION}`;

/** Type parsers that hand every value over as the server's text, for exact decoding by decode-value.ts. */
export const RAW_TEXT_TYPES = {
  getTypeParser: (): ((text: string) => string) => (text: string) => text,
};
