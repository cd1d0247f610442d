/**
 * What the one SQL sink (sql-sink.ts) asks of a target database, in the shape of Debezium's JDBC sink: the
 * sink owns everything every target shares (freshness filter, target transactions, savepoints, the applied
 * position, statement grouping, dead-letter hand-off, the missing-row policy); a dialect per database supplies
 * the connection, quoting and placeholders, the statements, the table shapes (create, alter, type mapping)
 * and what the target's error codes mean.
 */
import type { ChangeEvent, Row, Value } from '../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../schemas/events/table-schema.ts';
import type { CdcError, ErrorFields } from '../../common/errors.ts';
import type { ConflictDialect } from './conflicts/conflict-dialect.ts';
import type { TargetRules } from './schema-check/table-check.ts';

/** A parameter as the dialect's driver takes it (strings, Buffers, bigints, raw SQL...). */
export type Parameter = unknown;

export interface Statement {
  readonly text: string;
  readonly values: Parameter[];
}

export interface RunResult {
  readonly rows: readonly Record<string, unknown>[];
  /** Rows the statement matched (an update to equal values counts too). */
  readonly count: number;
}

/** One session with the target. */
export interface TargetConnection {
  /** True once the session failed under us: it is replaced before the next use. */
  readonly broken: boolean;
  /**
   * Runs one statement. `reuse` names a statement shape that repeats (the key includes the table's shape
   * epoch); a dialect may prepare it once per session.
   */
  run(statement: Statement, reuse?: string): Promise<RunResult>;
  /**
   * Runs `submit`, which hands statements over (run() without awaiting), so that they reach the server in one
   * write instead of one each. Optional: a connection without it sends them as they come.
   */
  together?<T>(submit: () => T): T;
  close(): Promise<void>;
}

/** A target table known to match an event's TableSchema. */
export interface TableShape {
  /** The quoted, qualified target name. */
  readonly sql: string;
  readonly table: TableSchema;
  /** Changes whenever DDL may have changed what a prepared statement on this table means. */
  readonly epoch: number;
}

/** The dialect's cache of target tables, and the DDL that creates and evolves them. */
export interface TableShapes<C extends TargetConnection> {
  /** The shape when the target is known to match `table` already: the hot path, no I/O. */
  lookup(table: TableSchema): TableShape | null;
  /**
   * Creates or evolves the target table. With `ddlCommitsImplicitly` the sink calls it with no target
   * transaction open; otherwise inside the open one.
   */
  ensure(connection: C, table: TableSchema): Promise<TableShape>;
  /**
   * Called before a target transaction opens, with the tables of the batch: the place to create what
   * table DDL will need and cannot create inside the transaction (PostgreSQL enum values, user-defined types).
   */
  ensureTypes(connection: C, tables: ReadonlySet<TableSchema>): Promise<void>;
  /** The target transaction committed: shapes learned inside it become known. */
  commit(): void;
  /** A rollback (of the transaction or to a savepoint): forget what it learned. */
  discardPending(): void;
  /** A new session: nothing cached can be trusted. */
  reset(): void;
}

/** How statements are spelled for a target: quoting, placeholders, row lookup, upsert, truncate. */
export interface StatementSyntax {
  ident(name: string): string;
  /** The placeholder of the `index`-th parameter (1-based). */
  placeholder(index: number): string;
  /** A row value as the driver takes it for this column. */
  parameter(value: Value | undefined, column: ColumnSchema, table: TableSchema): Parameter;
  /** A null-safe equality of `column` with a placeholder (keyless tables are matched on every column). */
  nullSafeEquals(table: TableSchema, column: ColumnSchema, placeholder: string): string;
  /** A WHERE clause and suffix touching exactly one of the rows `where` matches (keyless tables). */
  oneRow(target: string, where: string): { readonly where: string; readonly suffix: string };
  /** The clause turning an insert into an upsert on the key. */
  upsertClause(table: TableSchema): string;
  /** Empties a table inside the open target transaction. */
  truncate(target: string): string;
  /** Most parameters one statement may carry. */
  readonly maxParameters: number;
}

/** The applied-position table: one row per stream, written in the same target transaction as the rows. */
export interface PositionStatements {
  /** Creates the table (idempotent). */
  readonly create: readonly string[];
  /** Reads `position` of a stream; `locked` takes a row lock until the transaction ends. */
  read(stream: string, locked: boolean): Statement;
  /** Upserts the position of a stream with its commit time. */
  write(stream: string, position: string, commitTimeMicros: bigint): Statement;
}

export interface SqlDialect<C extends TargetConnection> {
  /** Names the dialect in logs (`postgres-sink`, `mariadb-sink`). */
  readonly name: string;
  /** MariaDB/MySQL commit the open transaction on DDL: the sink commits first, with its position. */
  readonly ddlCommitsImplicitly: boolean;
  /** The grammar and identifier limits a table's schema must pass before its DDL runs (schema-check/). */
  readonly schemaRules: TargetRules;
  readonly syntax: StatementSyntax;
  readonly positions: PositionStatements;
  /**
   * The one namespace every table goes into (PostgreSQL `targetSchema`, MariaDB target database), if any: it
   * scopes the applied-position row (position-rows.ts).
   */
  readonly positionScope?: string | undefined;
  readonly shapes: TableShapes<C>;
  /** Conflict detection on this target (row versions, tombstones); absent where the target cannot say a row's version. */
  readonly conflicts?: ConflictDialect<C>;
  /** Opens and sets up a session; failures are classified (TARGET_UNREACHABLE when the server is not there). */
  connect(): Promise<C>;
  /**
   * Session set-up that depends on the stream (PostgreSQL replication origins); before BEGIN. `partition`: the
   * partition of a keyed changelog being applied (ApplyOptions.partition).
   */
  prepareStream(connection: C, stream: string, partition?: number): Promise<void>;
  /**
   * What the commit of a source transaction is marked with beyond its time (PostgreSQL: the replication origin,
   * which can depend on the event's original node): the sink never puts two marks in one target transaction.
   */
  markOf?(event: ChangeEvent): string;
  /** Right after BEGIN, with the last event the transaction is to hold (origin commit position and time). */
  afterBegin(connection: C, last: ChangeEvent): Promise<void>;
  /** Turns a driver error into a CdcError: retriable when the connection was lost or a retry can succeed. */
  classify(error: unknown, message: string, fields: ErrorFields, connectionBroken: boolean): CdcError;
  /** Extra words naming what in the event the target refused, when the target's message does not. */
  failureNote(error: unknown, event: ChangeEvent): string;
  /** The target name of a source table, for messages. */
  targetName(table: TableSchema): string;
}

export type { Row };
