/**
 * MariaDB helpers for end-to-end tests: throwaway databases on the shared server, read back with every value as
 * text (dates as the server prints them, 64-bit integers and decimals as digits, bytes as hex), so comparisons
 * are exact. Sessions write in UTC so TIMESTAMP literals mean what they say.
 */
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import { stack, uniqueName, withDatabase } from './stack.ts';
import { waitFor } from './wait.ts';

export interface MariadbTestDatabase {
  readonly name: string;
  /** `mysql://root@host:port/<name>`, what a pipeline source or replica is configured with. */
  readonly url: string;
  /** Runs one or several statements; returns the rows of the (last) result, values as text. */
  query(sql: string, params?: readonly unknown[]): Promise<TextRow[]>;
  drop(): Promise<void>;
}

export type TextRow = Record<string, string | null>;

function poolOptions(database?: string): PoolOptions {
  const url = new URL(stack.mariadbUrl);
  return {
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    charset: 'utf8mb4',
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    jsonStrings: true,
    timezone: 'Z',
    connectionLimit: 3,
    ...(database !== undefined ? { database } : {}),
  };
}

/** Binary and bit columns arrive as Buffers: as hex, so bytes compare exactly; everything else as its text. */
export function mariadbText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

function textRows(result: unknown): TextRow[] {
  // A multi-statement query answers with one result per statement: the last one that returned rows counts.
  const results = Array.isArray(result) && Array.isArray(result[0]) ? (result as unknown[]) : [result];
  const rows = [...results].reverse().find((entry) => Array.isArray(entry)) ?? [];
  return (rows as Record<string, unknown>[]).map((row) =>
    Object.fromEntries(Object.entries(row).map(([column, value]) => [column, mariadbText(value)])),
  );
}

function openPool(database?: string): Pool {
  const pool = mysql.createPool(poolOptions(database));
  pool.pool.on('connection', (connection) => {
    connection.query(`SET SESSION time_zone = '+00:00'`);
  });
  return pool;
}

/** One statement on a fresh connection of its own (database-less), for set-up and clean-up. */
export async function mariadbAdminQuery(sql: string, params: readonly unknown[] = []): Promise<TextRow[]> {
  const connection = await mysql.createConnection(poolOptions());
  try {
    const [result] = await connection.query(sql, [...params] as (string | number | null)[]);
    return textRows(result);
  } finally {
    await connection.end();
  }
}

export async function createMariadbDatabase(prefix: string): Promise<MariadbTestDatabase> {
  const name = uniqueName(prefix);
  await mariadbAdminQuery(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const pool = openPool(name);
  return {
    name,
    url: withDatabase(stack.mariadbUrl, name),
    async query(sql, params = []) {
      const [result] = await pool.query(sql, [...params] as (string | number | null)[]);
      return textRows(result);
    },
    async drop() {
      await pool.end();
      await mariadbAdminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

/** Waits until the shared MariaDB answers a query again (after a restart). */
export async function waitForMariadb(timeoutMs = 180_000): Promise<void> {
  await waitFor('MariaDB to answer', async () => (await mariadbAdminQuery('SELECT 1 AS ok')).length === 1, {
    timeoutMs,
    intervalMs: 250,
  });
}

/**
 * Removes what a MariaDB replica's apply worker keeps outside the replicated database: the stream's applied
 * positions, bare and scoped to any target database (apply/position-rows.ts).
 */
export async function forgetMariadbAppliedPosition(stream: string): Promise<void> {
  const tables = await mariadbAdminQuery(
    `SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'cdc_apply' AND TABLE_NAME = 'applied_position'`,
  );
  if (tables.length === 0) return;
  const scoped = `${stream.replace(/[\\%_]/g, '\\$&')}@%`;
  await mariadbAdminQuery('DELETE FROM `cdc_apply`.`applied_position` WHERE stream = ? OR stream LIKE ?', [
    stream,
    scoped,
  ]);
}
