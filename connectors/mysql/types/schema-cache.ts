/**
 * Current TableSchema of each captured table, read from the catalog on first use and again after DDL touched
 * the table. A row event whose columns differ from the cached schema (DDL the cache missed) re-reads once.
 */
import type { Connection } from 'mysql2/promise';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { readTableSchema } from './catalog.ts';

export class SchemaCache {
  readonly #connection: Connection;
  readonly #schemas = new Map<string, TableSchema | null>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  async get(database: string, table: string): Promise<TableSchema | null> {
    const key = `${database}.${table}`;
    if (!this.#schemas.has(key)) this.#schemas.set(key, await readTableSchema(this.#connection, database, table));
    return this.#schemas.get(key) ?? null;
  }

  async refresh(database: string, table: string): Promise<TableSchema | null> {
    this.#schemas.delete(`${database}.${table}`);
    return this.get(database, table);
  }

  /** The schema matching a row's column names, re-reading the catalog once when the cached one does not. */
  async forRow(database: string, table: string, columns: readonly string[]): Promise<TableSchema | null> {
    const cached = await this.get(database, table);
    if (cached && sameColumns(cached, columns)) return cached;
    return this.refresh(database, table);
  }
}

function sameColumns(schema: TableSchema, columns: readonly string[]): boolean {
  return schema.columns.length === columns.length && schema.columns.every((column, i) => column.name === columns[i]);
}
