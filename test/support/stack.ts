/**
 * Addresses of the local stack (stack/env.sh sets the same defaults), and unique names so tests sharing one
 * PostgreSQL, MariaDB and Kafka never collide.
 */
import { randomBytes } from 'node:crypto';

export const stack = {
  pgAdminUrl: process.env.CDC_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres',
  pgSourceUrl: process.env.CDC_PG_SOURCE_URL ?? 'postgres://postgres@127.0.0.1:55432/cdc_source',
  pgReplicaUrl: process.env.CDC_PG_REPLICA_URL ?? 'postgres://postgres@127.0.0.1:55432/cdc_replica',
  mariadbUrl: process.env.CDC_MARIADB_URL ?? 'mysql://root@127.0.0.1:53306/',
  kafkaBrokers: (process.env.CDC_KAFKA_BROKERS ?? '127.0.0.1:59092').split(','),
};

/** A lowercase identifier unique to this test run, safe as a database, slot or topic name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Replaces the database name of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
