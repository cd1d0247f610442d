/**
 * Current TableSchema of each captured table, read from the catalog on first use and again after DDL touched
 * the table. A row event whose columns differ from the cached schema (DDL the cache missed) re-reads once.
 */
import type { Connection } from 'mysql2/promise';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { ColumnSchema } from '../../../schemas/events/table-schema.ts';
import type { BinlogColumn } from '../replication/binlog-client.ts';
import { readTableSchema } from './catalog.ts';
import { catalogColumnFromType, columnTypeOf } from './column-type.ts';

export class SchemaCache {
  readonly #connection: Connection;
  readonly #schemas = new Map<string, TableSchema | null>();
  /** Schemas rebuilt from binlog metadata for row images older than the catalog, by table and column names. */
  readonly #historic = new Map<string, TableSchema>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  async get(database: string, table: string): Promise<TableSchema | null> {
    const key = `${database}.${table}`;
    if (!this.#schemas.has(key))
      this.#schemas.set(key, await readTableSchema(this.#connection, database, table));
    return this.#schemas.get(key) ?? null;
  }

  async refresh(database: string, table: string): Promise<TableSchema | null> {
    this.#schemas.delete(`${database}.${table}`);
    return this.get(database, table);
  }

  /**
   * The schema a row event was written under. The catalog is read when the connector processes the event,
   * which may be after later DDL; when its columns do not match the row image's, the catalog is re-read once,
   * and if it still does not match the schema is rebuilt from the binlog's own column metadata, taking each
   * column's catalog definition where the name still exists.
   */
  async forRow(
    database: string,
    table: string,
    columns: readonly BinlogColumn[],
    primaryKey: readonly string[] | null,
  ): Promise<TableSchema | null> {
    const names = columns.map((c) => c.name);
    const cached = await this.get(database, table);
    if (cached && sameColumns(cached, names)) return cached;
    const historicKey = `${database}.${table}|${names.join(',')}`;
    const historic = this.#historic.get(historicKey);
    if (historic) return historic;
    const fresh = await this.refresh(database, table);
    if (fresh && sameColumns(fresh, names)) return fresh;
    const rebuilt = fromBinlog(database, table, columns, primaryKey, fresh);
    this.#historic.set(historicKey, rebuilt);
    return rebuilt;
  }
}

function sameColumns(schema: TableSchema, columns: readonly string[]): boolean {
  return (
    schema.columns.length === columns.length &&
    schema.columns.every((column, i) => column.name === columns[i])
  );
}

function fromBinlog(
  database: string,
  table: string,
  columns: readonly BinlogColumn[],
  primaryKey: readonly string[] | null,
  catalog: TableSchema | null,
): TableSchema {
  return {
    database,
    schema: database,
    table,
    dialect: 'mysql',
    columns: columns.map((column): ColumnSchema => {
      const known = catalog?.columns.find((c) => c.name === column.name);
      if (known) return known;
      const sourceType =
        column.unsigned && !/unsigned/.test(column.columnType)
          ? `${column.columnType} unsigned`
          : column.columnType;
      return {
        name: column.name,
        type: columnTypeOf(catalogColumnFromType(column.name, sourceType)),
        sourceType,
        nullable: true,
      };
    }),
    key: primaryKey ?? catalog?.key.filter((k) => columns.some((c) => c.name === k)) ?? [],
    beforeImage: 'full',
  };
}
