/**
 * A small shop on a throwaway MariaDB database for the migration tests: its tables (types that map to
 * PostgreSQL and back unchanged), an application user without privileges beyond the shop (so the read-only
 * fence stops it as it would stop an application), a writer running as that user, and both sides' rows as
 * comparable text.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { adminConnection } from '../mysql/harness.ts';

export const SHOP_TABLES = `
  CREATE TABLE customers (id int PRIMARY KEY, name varchar(60) NOT NULL, email varchar(120));
  CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount decimal(10,2) NOT NULL,
    status varchar(20) NOT NULL, created_at datetime(6) NOT NULL);`;

export async function seedShop(sql: Connection, orders: number): Promise<void> {
  await sql.query(SHOP_TABLES);
  const customers = Array.from({ length: 50 }, (_, i) => [
    i + 1,
    `customer ${i + 1}`,
    `c${i + 1}@example.com`,
  ]);
  await sql.query('INSERT INTO customers VALUES ?', [customers]);
  for (let start = 1; start <= orders; start += 1000) {
    const rows = [];
    for (let id = start; id < Math.min(start + 1000, orders + 1); id++) {
      rows.push([
        id,
        1 + (id % 50),
        `${id % 997}.${String(id % 100).padStart(2, '0')}`,
        'new',
        '2024-01-02 03:04:05.123456',
      ]);
    }
    await sql.query('INSERT INTO orders VALUES ?', [rows]);
  }
}

export interface AppUser {
  readonly user: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createAppUser(database: string): Promise<AppUser> {
  const user = uniqueName('app').slice(0, 32);
  const password = uniqueName('pw');
  const admin = await adminConnection();
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '127.0.0.1', password]);
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.* TO ?@?`, [user, '127.0.0.1']);
  await admin.end();
  const url = new URL(stack.mariadbUrl);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  return {
    user,
    url: url.toString(),
    async drop() {
      const connection = await adminConnection();
      await connection.query('DROP USER IF EXISTS ?@?', [user, '127.0.0.1']);
      await connection.end();
    },
  };
}

export interface Writer {
  /** Transactions committed so far. */
  committed(): number;
  /** Resolves with why the writer ended: 'fenced' when the source refused writes (read-only), 'stopped'. */
  readonly done: Promise<'fenced' | 'stopped'>;
  /** Holds further writes until resume(). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Inserts, updates and deletes orders as the application user, one small transaction at a time. */
export function startWriter(app: AppUser, firstId: number, pauseMs = 10): Writer {
  const stop = new AbortController();
  let committed = 0;
  let paused = false;
  const done = (async (): Promise<'fenced' | 'stopped'> => {
    const url = new URL(app.url);
    const sql = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
    });
    try {
      let id = firstId;
      while (!stop.signal.aborted) {
        if (paused) {
          await delay(20);
          continue;
        }
        const roll = committed % 10;
        try {
          await sql.query('BEGIN');
          if (roll < 6) {
            id++;
            await sql.query(`INSERT INTO orders VALUES (?, ?, ?, 'new', '2024-03-01 10:00:00.000001')`, [
              id,
              1 + (id % 50),
              `${id % 500}.25`,
            ]);
          } else if (roll < 9) {
            await sql.query(`UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id = ?`, [
              1 + ((committed * 7) % 500),
            ]);
          } else {
            await sql.query('DELETE FROM orders WHERE id = ?', [1 + ((committed * 13) % 500)]);
          }
          await sql.query('COMMIT');
          committed++;
        } catch (error) {
          // 1290: the server runs with --read-only: the fence is up.
          if ((error as { errno?: unknown }).errno === 1290) return 'fenced';
          throw error;
        }
        if (pauseMs > 0) await delay(pauseMs);
      }
      return 'stopped';
    } finally {
      await sql.end();
    }
  })();
  return {
    committed: () => committed,
    done,
    pause: () => (paused = true),
    resume: () => (paused = false),
    async stop() {
      stop.abort();
      await done;
    },
  };
}

/** The shop's rows on MariaDB, one text line per row. */
export async function mariadbShop(sql: Connection): Promise<string[]> {
  const [customers] = await sql.query(
    `SELECT CONCAT_WS('|', 'c', id, name, IFNULL(email, '<null>')) AS line FROM customers ORDER BY id`,
  );
  const [orders] = await sql.query(
    `SELECT CONCAT_WS('|', 'o', id, customer_id, CAST(amount AS CHAR), status, CAST(created_at AS CHAR)) AS line FROM orders ORDER BY id`,
  );
  return [...(customers as { line: string }[]), ...(orders as { line: string }[])].map((row) => row.line);
}

/** The same lines from the PostgreSQL copy (schema named after the MariaDB database). */
export async function postgresShop(db: TestDatabase, schema: string): Promise<string[]> {
  const q = `"${schema.replaceAll('"', '""')}"`;
  const customers = await db.query<{ line: string }>(
    `SELECT concat_ws('|', 'c', id, name, coalesce(email, '<null>')) AS line FROM ${q}.customers ORDER BY id`,
  );
  const orders = await db.query<{ line: string }>(
    `SELECT concat_ws('|', 'o', id, customer_id, amount::text, status, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US')) AS line FROM ${q}.orders ORDER BY id`,
  );
  return [...customers.rows, ...orders.rows].map((row) => row.line);
}
