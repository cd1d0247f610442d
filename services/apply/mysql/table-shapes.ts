/**
 * Target tables and their shapes: creates a table from an event's TableSchema and evolves it (ADD, DROP,
 * MODIFY COLUMN, primary key) when the source's shape changed. Known shapes are cached, so the hot path
 * compares one signature and runs no catalog query. Columns get the source's constant defaults, so an added
 * column fills the rows already there as the source's did.
 *
 * MariaDB/MySQL DDL commits the open transaction implicitly, so `ensure` must only be called with no target
 * transaction open: the sink commits what it has (with its applied position) before a table changes shape.
 */
import type { Connection } from 'mysql2/promise';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import type { Logger } from '../../../common/logger.ts';
import type { TableShapes as SinkTableShapes } from '../sql-dialect.ts';
import type { MysqlConnection } from './mysql-connection.ts';
import { binaryCollation, ident, qualified, type Flavor, type TargetTable } from './sql.ts';
import { defaultClause } from './column-default.ts';
import { targetError } from '../target-errors.ts';
import { judgeMysqlError } from './target-errors.ts';
import { declaredType, normalizeType } from './type-mapping.ts';

export interface TableShape {
  readonly target: TargetTable;
  /** The quoted, database-qualified target name. */
  readonly sql: string;
  readonly table: TableSchema;
  readonly epoch: number;
}

interface Desired {
  readonly signature: string;
  /** The target table's qualified name: looked up for every event, so made once per table schema. */
  readonly key: string;
  /** Column name to its declared type, as written in DDL. */
  readonly declared: ReadonlyMap<string, string>;
}

interface CatalogColumn {
  readonly type: string;
  readonly nullable: boolean;
  readonly key: boolean;
}

interface ShowColumnsRow {
  readonly Field: string;
  readonly Type: string;
  readonly Null: string;
  readonly Key: string;
}

/** ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR: the table is not there yet. */
const MISSING = new Set([1146, 1049]);

export class TableShapes implements SinkTableShapes<MysqlConnection> {
  private readonly targetOf: (table: TableSchema) => TargetTable;
  private readonly flavor: Flavor;
  private readonly logger: Logger;
  private readonly desired = new WeakMap<TableSchema, Desired>();
  private readonly known = new Map<string, { signature: string; shape: TableShape }>();
  private epoch = 0;

  constructor(targetOf: (table: TableSchema) => TargetTable, flavor: Flavor, logger: Logger) {
    this.targetOf = targetOf;
    this.flavor = flavor;
    this.logger = logger;
  }

  /** The shape when the target is known to match `table` already: the hot path, no I/O. */
  lookup(table: TableSchema): TableShape | null {
    const desired = this.desiredOf(table);
    const known = this.known.get(desired.key);
    return known && known.signature === desired.signature ? known.shape : null;
  }

  /** Creates or evolves the target table. Runs DDL: call with no target transaction open. */
  async ensure(session: MysqlConnection, table: TableSchema): Promise<TableShape> {
    const connection = session.connection;
    const cached = this.lookup(table);
    if (cached) return cached;
    const target = this.targetOf(table);
    const key = qualified(target);
    const desired = this.desiredOf(table);
    try {
      const current = await this.readCatalog(connection, key);
      if (current === null) await this.create(connection, target, table, desired);
      else await this.evolve(connection, key, table, current, desired);
    } catch (error) {
      throw targetError(
        error,
        `cannot create or change the target table ${key}`,
        { table: key },
        judgeMysqlError(error, false),
      );
    }
    const shape: TableShape = { target, sql: key, table, epoch: ++this.epoch };
    this.known.set(key, { signature: desired.signature, shape });
    return shape;
  }

  /** No types to create beforehand: enums and sets are column types here. */
  async ensureTypes(): Promise<void> {}

  /** DDL committed as it ran: nothing waits for the target transaction. */
  commit(): void {}

  discardPending(): void {}

  /** After a new connection: nothing cached can be trusted (another writer may have changed tables). */
  reset(): void {
    this.known.clear();
  }

  private desiredOf(table: TableSchema): Desired {
    let desired = this.desired.get(table);
    if (!desired) {
      const declared = new Map(
        table.columns.map((column) => [column.name, declaredType(table, column, this.flavor)]),
      );
      const normalized = [...declared].map(([name, type]) => [name, normalizeType(type, this.flavor)]);
      desired = {
        signature: JSON.stringify([normalized, table.key]),
        declared,
        key: qualified(this.targetOf(table)),
      };
      this.desired.set(table, desired);
    }
    return desired;
  }

  private async readCatalog(connection: Connection, key: string): Promise<Map<string, CatalogColumn> | null> {
    try {
      const [rows] = await connection.query(`SHOW COLUMNS FROM ${key}`);
      return new Map(
        (rows as ShowColumnsRow[]).map((row) => [
          row.Field,
          {
            type: normalizeType(row.Type, this.flavor),
            nullable: row.Null === 'YES',
            key: row.Key === 'PRI',
          },
        ]),
      );
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (typeof errno === 'number' && MISSING.has(errno)) return null;
      throw error;
    }
  }

  private async create(
    connection: Connection,
    target: TargetTable,
    table: TableSchema,
    desired: Desired,
  ): Promise<void> {
    const keys = new Set(table.key);
    const columns = table.columns.map((column) => {
      const type = desired.declared.get(column.name) ?? 'longtext';
      const nullability = column.nullable && !keys.has(column.name) ? ' NULL' : ' NOT NULL';
      return `${ident(column.name)} ${type}${nullability}${defaultClause(column, table, type, this.flavor)}`;
    });
    if (table.key.length > 0) columns.push(`PRIMARY KEY (${table.key.map(ident).join(', ')})`);
    const collation = binaryCollation(this.flavor);
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS ${ident(target.database)} CHARACTER SET utf8mb4 COLLATE ${collation}`,
    );
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(target)} (${columns.join(', ')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`,
    );
    this.logger.info({ table: qualified(target) }, 'created target table');
  }

  private async evolve(
    connection: Connection,
    key: string,
    table: TableSchema,
    current: ReadonlyMap<string, CatalogColumn>,
    desired: Desired,
  ): Promise<void> {
    const keys = new Set(table.key);
    const changes = table.columns.flatMap((column) =>
      this.columnChange(column, table, keys, current.get(column.name), desired),
    );
    for (const name of current.keys()) {
      if (!desired.declared.has(name)) changes.push(`DROP COLUMN ${ident(name)}`);
    }
    const currentKey = [...current].filter(([, column]) => column.key).map(([name]) => name);
    if (!sameMembers(currentKey, table.key)) {
      if (currentKey.length > 0) changes.push('DROP PRIMARY KEY');
      if (table.key.length > 0) changes.push(`ADD PRIMARY KEY (${table.key.map(ident).join(', ')})`);
    }
    if (changes.length === 0) return;
    await connection.query(`ALTER TABLE ${key} ${changes.join(', ')}`);
    this.logger.info({ table: key, changes }, 'evolved target table');
  }

  /** The ALTER clause a column needs, if any. */
  private columnChange(
    column: ColumnSchema,
    table: TableSchema,
    keys: ReadonlySet<string>,
    now: CatalogColumn | undefined,
    desired: Desired,
  ): string[] {
    const type = desired.declared.get(column.name) ?? 'longtext';
    const defaults = defaultClause(column, table, type, this.flavor);
    // Added columns are nullable (unless keys); a constant default gives the replica's existing rows the
    // value the source's rows got when it added the column.
    if (now === undefined)
      return [
        `ADD COLUMN ${ident(column.name)} ${type}${keys.has(column.name) ? ' NOT NULL' : ' NULL'}${defaults}`,
      ];
    if (now.type === normalizeType(type, this.flavor)) return [];
    // Nullability stays as the replica has it (added columns are nullable whatever the source says); MODIFY
    // drops a default it does not restate.
    const nullable = now.nullable && !keys.has(column.name);
    return [`MODIFY COLUMN ${ident(column.name)} ${type}${nullable ? ' NULL' : ' NOT NULL'}${defaults}`];
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name) => b.includes(name));
}
