/**
 * MariaDB and MySQL grants. The capture user reads the binlog (REPLICATION SLAVE), the server's binlog
 * position (BINLOG MONITOR on MariaDB, REPLICATION CLIENT on MySQL) and the captured tables (SELECT); on
 * MySQL a snapshot also takes a global read lock for an instant (RELOAD). The writing user creates the
 * replica's databases and tables, keeps its position in the database `cdc_apply`, and marks its writes
 * with a session server_id of its own (BINLOG REPLAY on MariaDB, SUPER on MySQL) unless `origin: false`.
 *
 * MariaDB names accounts `'user'@'host'`: the blocks use `'%'`, which the administrator narrows to the
 * hosts the service runs on.
 */
import {
  databaseOf,
  type BinlogSourceConfig,
  type ReplicaConfig,
  type SourceConfig,
} from '../config/schema.ts';
import { sourceSchemas, splitPattern, userOf, type GrantBlock } from './grants.ts';

const HOST_NOTE =
  "the account must exist (CREATE USER 'name'@'host' IDENTIFIED BY ...); '%' stands for its host";

export function mariadbCaptureGrants(source: BinlogSourceConfig): GrantBlock {
  const user = userOf(source.url);
  const account = accountOf(user);
  const global =
    source.kind === 'mysql'
      ? 'REPLICATION SLAVE, REPLICATION CLIENT, RELOAD'
      : 'REPLICATION SLAVE, BINLOG MONITOR';
  const statements = [`GRANT ${global} ON *.* TO ${account}`];
  for (const pattern of source.tables) {
    const { schema, table } = splitPattern(pattern);
    if (schema.includes('*')) {
      statements.push(`GRANT SELECT ON *.* TO ${account}`);
      continue;
    }
    // A prefix pattern (`shop.order*`) reads whatever tables match, now and later: the whole database.
    const on = table.includes('*') ? `${ident(schema)}.*` : `${ident(schema)}.${ident(table)}`;
    statements.push(`GRANT SELECT ON ${on} TO ${account}`);
  }
  return {
    name: source.name,
    title: `capture of source ${source.name}`,
    server: 'mariadb',
    user,
    notes: [
      `reads the binlog as replica server_id ${source.serverId} and snapshots the captured tables`,
      HOST_NOTE,
      ...((source.candidates ?? []).length > 0
        ? [
            'every candidate server needs the same account, password and grants (run on the primary, they reach its replicas through replication)',
          ]
        : []),
    ],
    statements: [...new Set(statements)],
  };
}

export function mariadbWriterGrants(replica: ReplicaConfig, source: SourceConfig): GrantBlock {
  const user = userOf(replica.url);
  const account = accountOf(user);
  const databases = targetDatabases(replica, source);
  const statements = [
    ...databases.map(
      (database) =>
        `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON ${ident(database)}.* TO ${account}`,
    ),
    `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON \`cdc_apply\`.* TO ${account}`,
  ];
  const notes = ['creates the replica tables; keeps its applied position in database cdc_apply', HOST_NOTE];
  if (replica.origin && replica.originMarking !== 'marker-row') {
    statements.push(`GRANT BINLOG REPLAY ON *.* TO ${account}`);
    notes.push(
      'BINLOG REPLAY lets it mark its writes with a session server_id (MySQL: SUPER; or set origin: false, or originMarking: marker-row)',
    );
  }
  return {
    name: replica.name,
    title: `writer of replica ${replica.name}`,
    server: 'mariadb',
    user,
    notes,
    statements,
  };
}

/** The URL's database, else each source schema becomes a database of its own (apply-task.ts). */
function targetDatabases(replica: ReplicaConfig, source: SourceConfig): string[] {
  const database = databaseOf(replica.url);
  if (database !== null) return [database];
  return sourceSchemas(source);
}

function accountOf(user: string): string {
  return `'${user.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'@'%'`;
}

function ident(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}
