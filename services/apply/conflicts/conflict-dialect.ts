/**
 * What conflict handling asks of a target beyond the sink's dialect: the local row and its version read under
 * a row lock, tombstones, and whether an error is a unique-key violation. PostgreSQL implements it
 * (postgres/conflict-statements.ts); MariaDB has no per-row commit time and origin, see docs/conflicts.md.
 */
import type { Row } from '../../../schemas/events/change-event.ts';
import type { TableShape, TargetConnection } from '../sql-dialect.ts';
import type { Version } from './types.ts';

export interface LocalRow {
  /** The row as JSON text, as the target reads it back. */
  readonly json: string;
  /**
   * The row's version; null when the open target transaction wrote it (an earlier change of this source
   * transaction). A row written under a savepoint (the sink runs each change under one when it dead-letters)
   * has a subtransaction's xmin, which PostgreSQL does not tell apart from an old row's here: it reads as the
   * local node's oldest version (time 0). Every path that meets such a row compares it with the change's old
   * image first, which matches, so that version decides nothing; do not rely on null alone for "written here".
   */
  readonly version: Version | null;
  /** Columns of the compared image whose local value equals it, compared by the target itself (types, collations). */
  readonly equal: ReadonlySet<string>;
}

/** The local row (null when missing) and the key's tombstone (null when none). */
export interface Locked {
  readonly local: LocalRow | null;
  readonly tombstone: Version | null;
}

export interface ConflictDialect<C extends TargetConnection> {
  readonly flavor: 'postgres';
  /** Creates the conflict log and the tombstone table (idempotent). */
  readonly create: readonly string[];
  /**
   * Locks `keys` of `table` (the source's `schema.table`) until the open transaction ends, so the sessions of
   * the sink writing one key take turns: each key on its own with the table's lock shared (`scope` 'keys'), or
   * the whole table exclusively ('table', for a transaction past its budget of key locks: the server's lock
   * table is bounded). With `lockRows`, the rows the keys name too (FOR UPDATE). A read in a later statement
   * then sees what other sessions committed to those keys, including a local session's delete it waited for:
   * under READ COMMITTED a statement's snapshot predates its own waits, so the lock and the read are apart.
   */
  lockKeys(
    connection: C,
    shape: TableShape,
    table: string,
    keys: readonly Row[],
    scope: 'keys' | 'table',
    lockRows: boolean,
  ): Promise<void>;
  /**
   * Locks and reads the row `key` names (`FOR UPDATE`), its version, and which columns of `compare` it equals,
   * with the key's tombstone (`table` is the source's `schema.table`), in one round trip. `originNode` names the
   * node of a replication origin name; a local write is `localNode`'s.
   */
  lockRow(
    connection: C,
    shape: TableShape,
    table: string,
    key: Row,
    compare: Row,
    originNode: (origin: string | null) => string,
  ): Promise<Locked>;
  /**
   * Makes local deletes of the table leave tombstones too (a trigger), so a replicated change older than a
   * delete made on this node does not bring the row back. Idempotent; called once per table shape.
   */
  prepareTable(connection: C, shape: TableShape, table: string): Promise<void>;
  /**
   * Does for every keyed table matching `patterns` (`schema.table`, `schema.*`) that lacks it what
   * `prepareTable` does, so local deletes leave tombstones before the link first writes the table. Answers the
   * tables it prepared.
   */
  protectTables(connection: C, patterns: readonly string[]): Promise<string[]>;
  /**
   * Stores a tombstone, keeping the newer when the key has a replicated one. A local delete's tombstone (its
   * version known only from its committed transaction) is replaced: the sink's own delete leaves one in this
   * transaction that the change's version must replace, so a caller keeping an older local delete checks first.
   */
  writeTombstone(connection: C, shape: TableShape, table: string, key: Row, version: Version): Promise<void>;
  removeTombstone(connection: C, shape: TableShape, table: string, key: Row): Promise<void>;
  /**
   * Inserts rows of consecutive inserts of one table (their keys distinct), in order, up to the first whose key
   * has a row (committed, or written earlier in this transaction) or a tombstone, skipping a row that violates
   * any unique key (`onAnyConflictNothing`); in one round trip. Answers the index of that first row
   * (`rows.length` when none) and the indexes of the rows inserted; null when the table's column types cannot
   * be read (the caller writes each change on its own then). Never a prepared statement: a generic plan made
   * while the table was small kept its existence checks slow as the table grew (postgres/conflict-statements.ts).
   */
  insertNew(
    connection: C,
    shape: TableShape,
    table: string,
    rows: readonly Row[],
  ): Promise<{ readonly stop: number; readonly inserted: ReadonlySet<number> } | null>;
  /** Deletes at most `limit` tombstones older than the retention; returns how many. */
  collectTombstones(connection: C, retentionMillis: number, limit: number): Promise<number>;
  isUniqueViolation(error: unknown): boolean;
  /** The clause making an INSERT skip a row that violates any unique key (`ON CONFLICT DO NOTHING`). */
  readonly onAnyConflictNothing: string;
  /** A query answering the target's clock now (not its transaction's start), microseconds since the epoch, as `micros`. */
  readonly clock: string;
}
