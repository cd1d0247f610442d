/**
 * The PostgreSQL dialect of the SQL sink: double-quoted identifiers, `$n` placeholders, `ON CONFLICT` upserts,
 * keyless rows touched through their ctid, transactional DDL (table shapes change inside the target
 * transaction), SQLSTATE classification, and replication origins marking what the sink commits.
 */
import pg from 'pg';
import type { ChangeEvent, Value } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import { formatLsn } from '../../../schemas/positions/lsn.ts';
import type { CdcError, ErrorFields } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type {
  PositionStatements,
  SqlDialect,
  StatementSyntax,
  TableShapes as SinkTableShapes,
} from '../sql-dialect.ts';
import { PostgresConnection } from './postgres-connection.ts';
import { microsToTimestamp } from './sql.ts';
import { TableShapes } from './table-shapes.ts';
import { targetError } from '../target-errors.ts';
import { judgePostgresError } from './target-errors.ts';
import { declaredType } from './type-mapping.ts';
import { toParameter } from './values.ts';
import { postgresConflicts } from './conflict-statements.ts';

export interface PostgresDialectOptions {
  readonly url: string;
  /** Puts every target table in this schema instead of the source's schema (or MySQL database) name. */
  readonly targetSchema?: string;
  /** Marks applied commits with the replication origin `cdc_<stream>` (needs superuser or EXECUTE on the origin functions). */
  readonly replicationOrigin?: boolean;
  /** The replication origin's name instead of `cdc_<stream>`: a topology names one per link (origins are cluster-wide). */
  readonly originName?: string;
  /**
   * With `originName`: the origin marking a change whose `source.origin` names one of these nodes (a cascade tier
   * re-publishing), so the next tier's capture names where it was first written, not this link's source.
   */
  readonly originsByNode?: Readonly<Record<string, string>>;
}

/** The origin marking one partition of a keyed changelog (ApplyOptions.partition). */
export function partitionOrigin(origin: string, partition: number): string {
  return `${origin}#${partition}`;
}

export function originName(stream: string): string {
  return `cdc_${stream}`;
}

const ident = (name: string): string => pg.escapeIdentifier(name);

const syntax: StatementSyntax = {
  ident,
  placeholder: (index) => `$${index}`,
  parameter: (value: Value | undefined, column: ColumnSchema) => toParameter(value, column.type),
  nullSafeEquals(table, column, placeholder) {
    // Types without an equality operator are compared through a type that has one.
    const type = declaredType(table, column).toLowerCase();
    const name = ident(column.name);
    if (type === 'json') return `${name}::jsonb IS NOT DISTINCT FROM ${placeholder}::jsonb`;
    if (/^(xml|point|line|lseg|box|path|polygon|circle)$/.test(type))
      return `${name}::text IS NOT DISTINCT FROM ${placeholder}::text`;
    return `${name} IS NOT DISTINCT FROM ${placeholder}`;
  },
  oneRow: (target, where) => ({
    where: `ctid = (SELECT ctid FROM ${target} WHERE ${where} LIMIT 1)`,
    suffix: '',
  }),
  upsertClause(table) {
    const keys = new Set(table.key);
    const others = table.columns
      .filter((column) => !keys.has(column.name))
      .map((column) => ident(column.name));
    const conflict = `ON CONFLICT (${table.key.map(ident).join(', ')})`;
    return others.length > 0
      ? `${conflict} DO UPDATE SET ${others.map((name) => `${name} = EXCLUDED.${name}`).join(', ')}`
      : `${conflict} DO NOTHING`;
  },
  truncate: (target) => `TRUNCATE TABLE ${target}`,
  maxParameters: 65_535,
};

const positions: PositionStatements = {
  create: [
    'CREATE SCHEMA IF NOT EXISTS cdc_apply',
    `CREATE TABLE IF NOT EXISTS cdc_apply.applied_position (
      stream text PRIMARY KEY,
      position text NOT NULL,
      commit_time_micros bigint,
      applied_at timestamptz DEFAULT now())`,
  ],
  read: (stream, locked) => ({
    text: `SELECT position FROM cdc_apply.applied_position WHERE stream = $1${locked ? ' FOR UPDATE' : ''}`,
    values: [stream],
  }),
  write: (stream, position, commitTimeMicros) => ({
    text: `INSERT INTO cdc_apply.applied_position (stream, position, commit_time_micros, applied_at) VALUES ($1, $2, $3, now())
      ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, commit_time_micros = EXCLUDED.commit_time_micros, applied_at = now()`,
    values: [stream, position, commitTimeMicros.toString()],
  }),
};

export class PostgresDialect implements SqlDialect<PostgresConnection> {
  readonly name = 'postgres-sink';
  readonly ddlCommitsImplicitly = false;
  readonly schemaRules = 'postgres';
  readonly syntax = syntax;
  readonly positions = positions;
  readonly positionScope: string | undefined;
  readonly conflicts = postgresConflicts(syntax);
  readonly shapes: SinkTableShapes<PostgresConnection>;
  private readonly options: PostgresDialectOptions;
  private readonly logger: Logger;
  /** The role the URL connects as, named in the GRANT of a privilege error. */
  private readonly user: string | null;

  constructor(options: PostgresDialectOptions, logger: Logger) {
    this.options = options;
    this.user = URL.canParse(options.url) ? decodeURIComponent(new URL(options.url).username) || null : null;
    this.positionScope = options.targetSchema;
    this.logger = logger.child({ component: this.name });
    const shapes = new TableShapes(
      (table) => ({ schema: options.targetSchema ?? table.schema, table: table.table }),
      this.logger,
    );
    this.shapes = {
      lookup: (table) => shapes.lookup(table),
      ensure: (connection, table) => shapes.ensure(connection.client, table),
      // Enum values (and, through the table shapes, other user-defined types) must exist before the
      // transaction that uses them: PostgreSQL refuses an enum value in the transaction that added it.
      ensureTypes: (connection, tables) => shapes.ensureEnums(connection.client, tables),
      commit: () => shapes.commit(),
      discardPending: () => shapes.discardPending(),
      reset: () => shapes.reset(),
    };
  }

  connect(): Promise<PostgresConnection> {
    return PostgresConnection.open(this.options.url, this.logger);
  }

  /**
   * Creates the stream's origins (outside any target transaction: one created in a transaction that rolls back
   * would be gone while the session still used its id, and commits under it would look local) and sets up the
   * link's own on the session, unless one of the stream's is set up already.
   */
  async prepareStream(connection: PostgresConnection, stream: string, partition?: number): Promise<void> {
    if (this.options.replicationOrigin === false) return;
    const link = this.options.originName ?? originName(stream);
    const name = partition === undefined ? link : partitionOrigin(link, partition);
    const names = [name, ...Object.values(this.options.originsByNode ?? {})];
    if (connection.origin !== null && names.includes(connection.origin)) return;
    try {
      if (connection.origin !== null)
        await connection.client.query('SELECT pg_replication_origin_session_reset()');
      connection.origin = null;
      await connection.client.query(
        'SELECT pg_replication_origin_create(n) FROM unnest($1::text[]) n WHERE pg_replication_origin_oid(n) IS NULL',
        [names],
      );
      await connection.client.query('SELECT pg_replication_origin_session_setup($1)', [name]);
      connection.origin = name;
    } catch (error) {
      throw this.classify(
        error,
        `cannot set up the replication origin ${name} (needs superuser or EXECUTE on pg_replication_origin_*; only one worker per stream)`,
        {},
        connection.broken,
      );
    }
  }

  /**
   * The origin a source transaction is committed under: its original node's, when the link has one for it
   * (the sink keeps transactions of different origins in different target transactions, see `markOf`).
   */
  private originFor(event: ChangeEvent): string | null {
    const { originName: linkOrigin, originsByNode } = this.options;
    if (linkOrigin === undefined || originsByNode === undefined) return null;
    const original = event.source.origin;
    return (original !== null ? originsByNode[original] : undefined) ?? linkOrigin;
  }

  markOf(event: ChangeEvent): string {
    return this.originFor(event) ?? '';
  }

  async afterBegin(connection: PostgresConnection, last: ChangeEvent): Promise<void> {
    if (connection.origin === null) return;
    const origin = this.originFor(last);
    if (origin !== null && origin !== connection.origin) {
      // Switching origins inside the open target transaction is allowed: the commit takes the session's.
      try {
        await connection.client.query('SELECT pg_replication_origin_session_reset()');
        connection.origin = null;
        await connection.client.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
        connection.origin = origin;
      } catch (error) {
        throw this.classify(error, `cannot set up the replication origin ${origin}`, {}, connection.broken);
      }
    }
    // A re-published change carries where it was first committed: that position travels on, not this hop's.
    const commit = last.source.originCommit ?? last.source.position.commit;
    await connection.client.query('SELECT pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz)', [
      commit.kind === 'pg' ? formatLsn(commit.lsn) : '0/0',
      microsToTimestamp(last.source.commitTimeMicros),
    ]);
  }

  classify(error: unknown, message: string, fields: ErrorFields, connectionBroken: boolean): CdcError {
    return targetError(error, message, fields, judgePostgresError(error, connectionBroken, this.user));
  }

  /**
   * PostgreSQL names a value it cannot take (`date/time field value out of range: "0000-00-00"`) but not the
   * column: the columns of the event's row holding exactly that text (or a NUL byte, for `0x00`) are named,
   * so the dead letter says which.
   */
  failureNote(error: unknown, event: ChangeEvent): string {
    if (!(error instanceof Error)) return '';
    const row = event.after ?? event.before ?? {};
    // A text holding a NUL byte, which PostgreSQL's text types cannot store (other sources' can).
    const holds: ((value: unknown) => boolean) | null =
      /invalid byte sequence for encoding "UTF8": 0x00/.test(error.message)
        ? (value) => typeof value === 'string' && value.includes('\0')
        : null;
    const quoted = /: "(.*)"$/s.exec(error.message)?.[1];
    const matches = holds ?? (quoted === undefined ? null : (value: unknown) => value === quoted);
    if (matches === null) return '';
    const columns = Object.keys(row).filter((name) => matches(row[name]));
    return columns.length === 0 ? '' : ` (column ${columns.join(', ')})`;
  }

  targetName(table: TableSchema): string {
    return `${this.options.targetSchema ?? table.schema}.${table.table}`;
  }
}
