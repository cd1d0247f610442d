/**
 * Runs an ApplyWorker with a MysqlSink over in-memory batches, as production wires it, against a throwaway
 * MariaDB database; reads target rows back with every value as the server's text.
 */
import mysql, { type Connection } from 'mysql2/promise';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { MysqlSink } from '../../../services/apply/mysql/mysql-sink.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { runWorker, type Run, type RunOptions } from '../apply/contract/run-worker.ts';

export type { Run };

export async function mariadbConnection(): Promise<Connection> {
  const url = new URL(stack.mariadbUrl);
  return mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: true,
    jsonStrings: true,
    dateStrings: true,
    timezone: 'Z',
  });
}

export interface TargetDatabase {
  readonly name: string;
  /** Rows of a query, every value as text (binary columns as hex), null as null. */
  rows(sql: string, values?: unknown[]): Promise<Record<string, string | null>[]>;
  drop(): Promise<void>;
}

export async function createTargetDatabase(prefix = 'myapply'): Promise<TargetDatabase> {
  const name = uniqueName(prefix);
  const sql = await mariadbConnection();
  await sql.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await sql.query(`SET SESSION time_zone = '+00:00'`);
  return {
    name,
    async rows(text, values = []) {
      const [rows] = await sql.query(text, values);
      return (rows as Record<string, unknown>[]).map((row) =>
        Object.fromEntries(Object.entries(row).map(([name, value]) => [name, asText(value)])),
      );
    },
    async drop() {
      await sql.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await sql.query('DELETE FROM `cdc_apply`.`applied_position` WHERE stream LIKE ?', [`${name}%`]);
      await sql.end();
    },
  };
}

/** Binary and bit columns arrive as Buffers: as hex, so bytes compare exactly; everything else as its text. */
export function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

export async function applyBatches(
  stream: string,
  batches: readonly (readonly ChangeEvent[])[],
  options: RunOptions & { targetDatabase?: string; originServerId?: number } = {},
): Promise<Run> {
  const sink = new MysqlSink({
    url: stack.mariadbUrl,
    flavor: 'mariadb',
    ...(options.targetDatabase !== undefined ? { targetDatabase: options.targetDatabase } : {}),
    ...(options.originServerId !== undefined ? { originServerId: options.originServerId } : {}),
  });
  return runWorker(sink, stream, batches, options);
}
