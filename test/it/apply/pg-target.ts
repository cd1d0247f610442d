/**
 * A fresh PostgreSQL database per test file, and a reader that returns every value as the server's text
 * (so assertions compare exact values, never rounded JavaScript numbers or Dates).
 */
import pg from 'pg';
import { stack, uniqueName, withDatabase } from '../../support/stack.ts';

const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface TargetDatabase {
  readonly name: string;
  readonly url: string;
  query(text: string, values?: unknown[]): Promise<Record<string, string | null>[]>;
  /** Drops the database and the replication origins the test created. */
  drop(origins: readonly string[]): Promise<void>;
}

export async function createTargetDatabase(): Promise<TargetDatabase> {
  const name = uniqueName('apply');
  const admin = new pg.Client({ connectionString: stack.pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = withDatabase(stack.pgAdminUrl, name);
  const reader = new pg.Client({ connectionString: url, types: TEXT_TYPES });
  await reader.connect();
  await reader.query(`SET TimeZone = 'UTC'`);
  return {
    name,
    url,
    async query(text, values = []) {
      const result = await reader.query<Record<string, string | null>>(text, values);
      return result.rows;
    },
    async drop(origins) {
      await reader.end();
      for (const origin of origins) {
        await admin.query(
          'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
          [origin],
        );
      }
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await admin.end();
    },
  };
}
