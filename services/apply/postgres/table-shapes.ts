/**
 * Target tables and their shapes: creates a table (and the user types it needs, user-types.ts) from an event's TableSchema,
 * and evolves it (ADD, DROP, ALTER COLUMN TYPE) when the source's shape changed. Known shapes are cached, so
 * the hot path compares one signature and runs no catalog query. Columns get the source's constant defaults,
 * so an added column fills the rows already there as the source's did (a default changed later is not
 * replayed: rows always arrive with every value, so it matters only at that moment).
 *
 * Table DDL runs inside the target transaction (PostgreSQL DDL is transactional, and an event with the old
 * shape may precede one with the new shape in the same batch). Shapes learned inside a transaction only
 * become known when it commits. User types and enum values are added before the transaction instead, because
 * PostgreSQL refuses to use an enum value in the transaction that added it.
 */
import type pg from 'pg';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { Logger } from '../../../common/logger.ts';
import { defaultClause } from './column-default.ts';
import { declaredType, normalizeTypeName } from './type-mapping.ts';
import { ident, qualified, type TargetTable } from './sql.ts';
import { TargetTypes } from './user-types.ts';

export interface TableShape {
  readonly target: TargetTable;
  /** The quoted, schema-qualified target name. */
  readonly sql: string;
  readonly table: TableSchema;
  /** Changes whenever DDL may have changed what a prepared statement on this table means. */
  readonly epoch: number;
}

interface Known {
  readonly signature: string;
  /** Column name to normalized declared type. */
  readonly columns: ReadonlyMap<string, string>;
  readonly shape: TableShape;
}

interface Desired {
  readonly signature: string;
  /** The target table's qualified name: looked up for every event, so made once per table schema. */
  readonly key: string;
  readonly columns: ReadonlyMap<string, string>;
}

export class TableShapes {
  private readonly targetOf: (table: TableSchema) => TargetTable;
  private readonly logger: Logger;
  private readonly desired = new WeakMap<TableSchema, Desired>();
  private readonly known = new Map<string, Known>();
  private pending = new Map<string, Known>();
  private readonly types: TargetTypes;
  private epochCounter = 0;

  constructor(targetOf: (table: TableSchema) => TargetTable, logger: Logger) {
    this.targetOf = targetOf;
    this.logger = logger;
    this.types = new TargetTypes(logger);
  }

  get epoch(): number {
    return this.epochCounter;
  }

  /** The shape when the target is known to match `table` already: the hot path, no I/O. */
  lookup(table: TableSchema): TableShape | null {
    const desired = this.desiredOf(table);
    const known = this.pending.get(desired.key) ?? this.known.get(desired.key);
    return known && known.signature === desired.signature ? known.shape : null;
  }

  /** Creates or evolves the target table inside the caller's open transaction. */
  async ensure(client: pg.Client, table: TableSchema): Promise<TableShape> {
    const cached = this.lookup(table);
    if (cached) return cached;
    const target = this.targetOf(table);
    const key = qualified(target);
    const desired = this.desiredOf(table);
    const current =
      (this.pending.get(key) ?? this.known.get(key))?.columns ?? (await this.readCatalog(client, key));
    if (current === null) {
      await this.create(client, target, table);
    } else {
      await this.evolve(client, key, table, current, desired);
    }
    const shape: TableShape = { target, sql: key, table, epoch: ++this.epochCounter };
    this.pending.set(key, { signature: desired.signature, columns: desired.columns, shape });
    return shape;
  }

  /** Creates the user types (and enum values) the given tables need; call outside a transaction. */
  async ensureEnums(client: pg.Client, tables: Iterable<TableSchema>): Promise<void> {
    await this.types.ensure(client, tables);
  }

  commit(): void {
    for (const [key, known] of this.pending) this.known.set(key, known);
    this.pending = new Map();
  }

  /** After a rollback (to a savepoint or of the transaction): forget what this transaction learned. */
  discardPending(): void {
    this.pending = new Map();
    this.epochCounter++;
  }

  /** After a new connection: nothing cached can be trusted (another writer may have changed tables). */
  reset(): void {
    this.known.clear();
    this.pending = new Map();
    this.types.reset();
    this.epochCounter++;
  }

  private desiredOf(table: TableSchema): Desired {
    let desired = this.desired.get(table);
    if (!desired) {
      const columns = new Map(
        table.columns.map((column) => [column.name, normalizeTypeName(declaredType(table, column))]),
      );
      const signature = JSON.stringify([[...columns], table.key, table.columns.map((c) => c.nullable)]);
      desired = { signature, columns, key: qualified(this.targetOf(table)) };
      this.desired.set(table, desired);
    }
    return desired;
  }

  private async readCatalog(client: pg.Client, key: string): Promise<Map<string, string> | null> {
    const relation = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [key]);
    const oid = relation.rows[0]?.oid ?? null;
    if (oid === null) return null;
    const result = await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [oid],
    );
    return new Map(result.rows.map((row) => [row.name, normalizeTypeName(row.type)]));
  }

  private async create(client: pg.Client, target: TargetTable, table: TableSchema): Promise<void> {
    const columns = table.columns.map(
      (column) =>
        `${ident(column.name)} ${declaredType(table, column)}${defaultClause(column)}${column.nullable ? '' : ' NOT NULL'}`,
    );
    if (table.key.length > 0) columns.push(`PRIMARY KEY (${table.key.map(ident).join(', ')})`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(target.schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${qualified(target)} (${columns.join(', ')})`);
    this.logger.info({ table: qualified(target) }, 'created target table');
  }

  private async evolve(
    client: pg.Client,
    key: string,
    table: TableSchema,
    current: ReadonlyMap<string, string>,
    desired: Desired,
  ): Promise<void> {
    const changes: string[] = [];
    for (const column of table.columns) {
      const type = declaredType(table, column);
      const now = current.get(column.name);
      // Added columns are nullable (a key or NOT NULL change of the source is not replayed here); a constant
      // default gives the replica's existing rows the value the source's rows got when it added the column.
      if (now === undefined) changes.push(`ADD COLUMN ${ident(column.name)} ${type}${defaultClause(column)}`);
      else if (now !== desired.columns.get(column.name)) {
        // The old default may not cast to the new type (`'new'` to integer): it goes, the source's comes.
        const name = ident(column.name);
        const newDefault = defaultClause(column);
        changes.push(`ALTER COLUMN ${name} DROP DEFAULT`);
        changes.push(`ALTER COLUMN ${name} TYPE ${type} USING ${name}::${type}`);
        if (newDefault !== '') changes.push(`ALTER COLUMN ${name} SET${newDefault}`);
      }
    }
    for (const name of current.keys()) {
      if (!desired.columns.has(name)) changes.push(`DROP COLUMN ${ident(name)}`);
    }
    if (changes.length === 0) return;
    await client.query(`ALTER TABLE ${key} ${changes.join(', ')}`);
    this.logger.info({ table: key, changes }, 'evolved target table');
  }
}
