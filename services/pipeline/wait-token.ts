/**
 * A read-your-writes token as an application takes it from the source after its commit, parsed for the
 * source's dialect, and the test of whether a capture has read that far: PostgreSQL `pg_current_wal_lsn()` /
 * `pg_current_wal_insert_lsn()` (an LSN), MariaDB `@@gtid_binlog_pos` / `@@last_gtid` (a GTID or GTID
 * position), MySQL `@@gtid_executed` (a GTID set).
 */
import { CdcError } from '../../common/errors.ts';
import { compareGtidPositions, parseGtidPosition, type GtidPosition } from '../../schemas/positions/gtid.ts';
import { compareLsn, parseLsn, type Lsn } from '../../schemas/positions/lsn.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';

export type SourceKind = 'postgres' | 'mariadb' | 'mysql';

export type WaitToken =
  | { readonly kind: 'postgres'; readonly lsn: Lsn }
  | { readonly kind: 'binlog'; readonly gtids: GtidPosition };

const DIALECTS: readonly { readonly kind: SourceKind; readonly pattern: RegExp; readonly what: string }[] = [
  { kind: 'postgres', pattern: /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, what: 'a PostgreSQL LSN' },
  { kind: 'mariadb', pattern: /^\d+-\d+-\d+(\s*,\s*\d+-\d+-\d+)*$/, what: 'a MariaDB GTID position' },
  { kind: 'mysql', pattern: /^[0-9a-fA-F-]{36}:/, what: 'a MySQL GTID set' },
];

const TAKE_IT: Record<SourceKind, string> = {
  postgres: 'SELECT pg_current_wal_lsn() after the commit',
  mariadb: 'SELECT @@gtid_binlog_pos (or @@last_gtid) after the commit',
  mysql: 'SELECT @@gtid_executed after the commit',
};

/** Parses `text` for a source of `kind`; REQUEST_INVALID naming the `position` parameter otherwise. */
export function parseWaitToken(text: string, kind: SourceKind, source: string): WaitToken {
  const trimmed = text.trim();
  const invalid = (why: string): CdcError =>
    new CdcError(
      'REQUEST_INVALID',
      `position: ${JSON.stringify(text)} ${why}; source ${source} is ${kind === 'postgres' ? 'PostgreSQL' : kind === 'mariadb' ? 'MariaDB' : 'MySQL'}: take the token with ${TAKE_IT[kind]}`,
      { value: text },
    );
  if (trimmed === '') throw invalid('is empty');
  const other = DIALECTS.find((dialect) => dialect.kind !== kind && dialect.pattern.test(trimmed));
  const own = DIALECTS.find((dialect) => dialect.kind === kind);
  if (other !== undefined && own?.pattern.test(trimmed) !== true)
    throw invalid(`is ${other.what}, of another dialect than the replica's source`);
  try {
    return kind === 'postgres'
      ? { kind: 'postgres', lsn: parseLsn(trimmed) }
      : { kind: 'binlog', gtids: parseGtidPosition(kind, trimmed) };
  } catch (error) {
    if (error instanceof CdcError && error.code === 'POSITION_INVALID') throw invalid(`is not ${own?.what}`);
    throw error;
  }
}

/**
 * Whether a capture that has read its log up to the commit point `read` has read everything the token
 * covers. PostgreSQL: any safe point at or past the token's LSN (the log is decoded in commit order).
 * MariaDB/MySQL: the GTID position executed up to `read` contains every GTID of the token.
 */
export function readCovers(token: WaitToken, read: CommitPosition): boolean {
  if (token.kind === 'postgres') return read.kind === 'pg' && compareLsn(read.lsn, token.lsn) >= 0;
  if (read.kind !== 'binlog') return false;
  const order = compareGtidPositions(parseGtidPosition(read.flavor, read.gtidSet), token.gtids);
  return order === 0 || order === 1;
}
