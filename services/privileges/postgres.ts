/**
 * PostgreSQL grants. The capture user streams from a slot (REPLICATION), reads the captured tables for
 * snapshots (SELECT) and reads a publication an administrator created beforehand, because creating one
 * needs ownership of every published table (superuser for a whole schema). The writing user creates the
 * replica's schemas and tables and owns them, keeps its position in the schema `cdc_apply`, and marks its
 * commits with a replication origin, whose functions only superusers may call until EXECUTE is granted
 * (PostgreSQL 14 and later).
 */
import { publicationTargetSql } from '../../connectors/postgres/replication/publication.ts';
import { qualifiedName, quoteIdent } from '../../connectors/postgres/types/pg-sql.ts';
import {
  databaseOf,
  type PostgresSourceConfig,
  type ReplicaConfig,
  type SourceConfig,
} from '../config/schema.ts';
import { originGrant } from '../apply/postgres/origin-functions.ts';
import { sourceSchemas, splitPattern, userOf, type GrantBlock } from './grants.ts';

export function postgresCaptureGrants(source: PostgresSourceConfig): GrantBlock {
  const user = userOf(source.url);
  const role = quoteIdent(user);
  const database = databaseOf(source.url) ?? user;
  const statements = [
    `ALTER ROLE ${role} WITH LOGIN REPLICATION`,
    `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role}`,
  ];
  const notes = [
    `streams from slot ${source.slot} and reads publication ${source.publication}, created here by the administrator`,
    'the role must exist (CREATE ROLE ... LOGIN PASSWORD ...); pg_hba.conf must let it connect, replication included',
  ];
  if (source.tables.includes('*') || source.tables.includes('*.*')) {
    notes.push('tables: [*] publishes every table: grant SELECT on each schema you capture as below');
  }
  for (const pattern of source.tables) {
    const { schema, table } = splitPattern(pattern);
    if (schema === '*' || pattern === '*') continue;
    statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${role}`);
    if (table === '*') {
      statements.push(
        `GRANT SELECT ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} TO ${role}`,
        // Tables created later by the administrator (who runs this) are readable too.
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoteIdent(schema)} GRANT SELECT ON TABLES TO ${role}`,
      );
    } else statements.push(`GRANT SELECT ON ${qualifiedName(schema, table)} TO ${role}`);
  }
  const publication = `CREATE PUBLICATION ${quoteIdent(source.publication)} ${publicationTargetSql(source.tables)}`;
  statements.push(
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = ${literal(source.publication)}) THEN ${publication}; END IF; END $$`,
  );
  if (source.tables.some((pattern) => splitPattern(pattern).table === '*'))
    notes.push(
      'ALTER DEFAULT PRIVILEGES covers tables the administrator creates later; grant SELECT on those other roles create',
    );
  return {
    name: source.name,
    title: `capture of source ${source.name}`,
    server: 'postgres',
    user,
    notes,
    statements,
  };
}

export function postgresWriterGrants(replica: ReplicaConfig, source: SourceConfig): GrantBlock {
  const user = userOf(replica.url);
  const role = quoteIdent(user);
  const database = databaseOf(replica.url) ?? user;
  const statements = [
    // CREATE on the database: the schema cdc_apply (applied positions) and any target schema not made here.
    `GRANT CONNECT, CREATE ON DATABASE ${quoteIdent(database)} TO ${role}`,
  ];
  const notes = [
    'creates and owns the replica tables; keeps its applied position in schema cdc_apply',
    'the role must exist (CREATE ROLE ... LOGIN PASSWORD ...)',
  ];
  for (const schema of targetSchemas(replica, source)) {
    // An existing schema (public) stays the administrator's: the writer may create tables in it.
    statements.push(
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)} AUTHORIZATION ${role}`,
      `GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(schema)} TO ${role}`,
    );
  }
  if (replica.origin) {
    statements.push(originGrant(user));
    notes.push(
      'EXECUTE on the replication origin functions marks its commits (PostgreSQL 14 and later; or set origin: false)',
    );
  }
  return {
    name: replica.name,
    title: `writer of replica ${replica.name}`,
    server: 'postgres',
    user,
    notes,
    statements,
  };
}

/** The schemas the replica's tables go to: `targetSchema`, else the source's schemas (a MariaDB database names one). */
function targetSchemas(replica: ReplicaConfig, source: SourceConfig): string[] {
  if (replica.targetSchema !== undefined) return [replica.targetSchema];
  return sourceSchemas(source);
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
