/**
 * The MariaDB/MySQL dialect of the SQL sink: backquoted identifiers, `?` placeholders the driver fills in,
 * `ON DUPLICATE KEY UPDATE` upserts, keyless rows touched with LIMIT 1, DDL that commits implicitly (the sink
 * commits first), and errno classification.
 */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { CdcError, ErrorFields } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { PositionStatements, SqlDialect, StatementSyntax } from '../sql-dialect.ts';
import { MysqlConnection } from './mysql-connection.ts';
import { ident, type Flavor } from './sql.ts';
import { TableShapes } from './table-shapes.ts';
import { targetError } from '../target-errors.ts';
import { judgeMysqlError } from './target-errors.ts';
import { toParameter } from './values.ts';

export interface MysqlDialectOptions {
  /** `mysql://user:password@host:port/`; the path, if any, is ignored (see targetDatabase). */
  readonly url: string;
  /** Puts every target table in this database instead of the source's schema (or MySQL database) name. */
  readonly targetDatabase?: string;
  readonly flavor: Flavor;
  /** Session server_id for replicated writes (origin marking); off when absent. */
  readonly originServerId?: number;
}

const syntax: StatementSyntax = {
  ident,
  placeholder: () => '?',
  parameter: toParameter,
  nullSafeEquals: (_table, column, placeholder) => `${ident(column.name)} <=> ${placeholder}`,
  oneRow: (_target, where) => ({ where, suffix: ' LIMIT 1' }),
  upsertClause(table) {
    const keys = new Set(table.key);
    const others = table.columns
      .filter((column) => !keys.has(column.name))
      .map((column) => ident(column.name));
    // VALUES(col) is what both MariaDB and MySQL accept (MySQL 8.0.20+ warns, still supports it).
    const assignments =
      others.length > 0
        ? others.map((name) => `${name} = VALUES(${name})`)
        : [`${ident(table.key[0]!)} = ${ident(table.key[0]!)}`];
    return `ON DUPLICATE KEY UPDATE ${assignments.join(', ')}`;
  },
  // TRUNCATE TABLE commits implicitly in MariaDB/MySQL: DELETE keeps it inside the target transaction.
  truncate: (target) => `DELETE FROM ${target}`,
  maxParameters: 65_535,
};

const positions: PositionStatements = {
  create: [
    'CREATE DATABASE IF NOT EXISTS `cdc_apply` CHARACTER SET utf8mb4',
    `CREATE TABLE IF NOT EXISTS \`cdc_apply\`.\`applied_position\` (
      stream varchar(255) NOT NULL PRIMARY KEY,
      position text NOT NULL,
      commit_time_micros bigint,
      applied_at timestamp(6) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  read: (stream, locked) => ({
    text: `SELECT position FROM \`cdc_apply\`.\`applied_position\` WHERE stream = ?${locked ? ' FOR UPDATE' : ''}`,
    values: [stream],
  }),
  write: (stream, position, commitTimeMicros) => ({
    text: `INSERT INTO \`cdc_apply\`.\`applied_position\` (stream, position, commit_time_micros, applied_at) VALUES (?, ?, ?, NOW(6))
      ON DUPLICATE KEY UPDATE position = VALUES(position), commit_time_micros = VALUES(commit_time_micros), applied_at = VALUES(applied_at)`,
    values: [stream, position, commitTimeMicros],
  }),
};

export class MysqlDialect implements SqlDialect<MysqlConnection> {
  readonly name: string;
  readonly ddlCommitsImplicitly = true;
  readonly schemaRules = 'mysql';
  readonly syntax = syntax;
  readonly positions = positions;
  readonly positionScope: string | undefined;
  readonly shapes: TableShapes;
  private readonly options: MysqlDialectOptions;
  private readonly logger: Logger;

  /** The account the URL connects as, named in the GRANT of a privilege error the server does not name it in. */
  private readonly user: string | null;

  constructor(options: MysqlDialectOptions, logger: Logger) {
    this.options = options;
    this.user = URL.canParse(options.url) ? decodeURIComponent(new URL(options.url).username) || null : null;
    this.name = `${options.flavor}-sink`;
    this.positionScope = options.targetDatabase;
    this.logger = logger.child({ component: this.name });
    this.shapes = new TableShapes(
      (table) => ({ database: options.targetDatabase ?? table.schema, table: table.table }),
      options.flavor,
      this.logger,
    );
  }

  connect(): Promise<MysqlConnection> {
    return MysqlConnection.open(this.options.url, this.options.originServerId, this.logger);
  }

  /** Origin marking is per session (its server_id), set when the session opens. */
  async prepareStream(): Promise<void> {}

  async afterBegin(): Promise<void> {}

  classify(error: unknown, message: string, fields: ErrorFields, connectionBroken: boolean): CdcError {
    return targetError(error, message, fields, judgeMysqlError(error, connectionBroken, this.user));
  }

  /** MariaDB's messages name the column and value already. */
  failureNote(_error: unknown, _event: ChangeEvent): string {
    return '';
  }

  targetName(table: TableSchema): string {
    return `${this.options.targetDatabase ?? table.schema}.${table.table}`;
  }
}
