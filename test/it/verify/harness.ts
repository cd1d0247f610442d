/**
 * Test databases for verification: a throwaway PostgreSQL database pair and a MariaDB database, plus readers
 * opened on them. MariaDB sessions write in UTC so TIMESTAMP literals mean what they say.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName, withDatabase } from '../../support/stack.ts';

export { createDatabase, type TestDatabase };

export interface MariadbDatabase {
  readonly name: string;
  readonly url: string;
  readonly sql: Connection;
  drop(): Promise<void>;
}

export async function createMariadbDatabase(prefix: string): Promise<MariadbDatabase> {
  const name = uniqueName(prefix);
  const url = new URL(stack.mariadbUrl);
  const sql = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    charset: 'utf8mb4',
    multipleStatements: true,
  });
  await sql.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await sql.query(`USE \`${name}\``);
  await sql.query(`SET time_zone = '+00:00'`);
  return {
    name,
    url: withDatabase(stack.mariadbUrl, name),
    sql,
    async drop() {
      await sql.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await sql.end();
    },
  };
}
