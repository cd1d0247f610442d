/**
 * At start-up, says for every link of a topology how its writes will be marked in the target, so an operator
 * sees which mechanism loop prevention rests on before the first change flows:
 *   - PostgreSQL target: the link's replication origin (superuser, or EXECUTE on pg_replication_origin_*);
 *   - MariaDB target: the link's session server_id (BINLOG REPLAY, or SUPER).
 * A target lacking the privilege is reported with the grant that fixes it. There is no fallback marking yet (a
 * marker row written in the same transaction would be one): such a link's apply worker fails with the same reason
 * when it first writes, and a pair or mesh must not run unmarked, since its changes would go round.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { ReplicaConfig } from '../config/schema.ts';
import type { CompiledLink, CompiledTopology } from '../config/topology-compile.ts';
import { isTwoWay, linkLabel } from '../config/topology.ts';

export type OriginMarking =
  | { readonly kind: 'replication-origin' | 'server-id'; readonly marker: string }
  | { readonly kind: 'none'; readonly reason: string };

/** Logs, per link, the marking its target supports; checks run one after the other (one connection at a time). */
export async function reportOriginMarking(
  topology: CompiledTopology,
  replicas: readonly ReplicaConfig[],
  logger: Logger,
): Promise<void> {
  for (const link of topology.links) {
    const replica = replicas.find((candidate) => candidate.name === link.replica);
    if (replica === undefined) continue;
    let marking: OriginMarking;
    try {
      marking = await originMarking(link, replica);
    } catch (error) {
      logger.warn(
        { link: link.replica, err: error },
        `${linkLabel(link)}: cannot check how its writes will be marked in ${link.to} yet (${errorMessage(error)}); its apply worker reports it when it connects`,
      );
      continue;
    }
    const fields = { link: link.replica, marking: marking.kind };
    if (marking.kind === 'none')
      logger.error(
        fields,
        `${linkLabel(link)}: writes into ${link.to} cannot be marked with their origin: ${marking.reason}; its apply worker fails when it tries to mark them${isTwoWay(link.shape) ? ' (a pair or mesh link must not run unmarked: its changes would go round)' : ''}`,
      );
    else
      logger.info(
        fields,
        `${linkLabel(link)}: writes into ${link.to} are marked with ${marking.kind === 'replication-origin' ? 'replication origin' : 'session server_id'} ${marking.marker}`,
      );
  }
}

export async function originMarking(link: CompiledLink, replica: ReplicaConfig): Promise<OriginMarking> {
  if (link.marker === null) return { kind: 'none', reason: `node ${link.to} has origins: false` };
  switch (replica.kind) {
    case 'postgres':
      return (await postgresCanMark(replica.url))
        ? { kind: 'replication-origin', marker: link.marker }
        : {
            kind: 'none',
            reason:
              'the user is no superuser and lacks EXECUTE on pg_replication_origin_create, pg_replication_origin_session_setup and pg_replication_origin_xact_setup (GRANT EXECUTE ON FUNCTION ... TO <user>, PostgreSQL 14 or later)',
          };
    case 'mariadb':
      return (await mariadbCanMark(replica.url))
        ? { kind: 'server-id', marker: link.marker }
        : {
            kind: 'none',
            reason:
              'setting the session server_id needs BINLOG REPLAY (GRANT BINLOG REPLAY ON *.* TO <user>)',
          };
  }
}

async function postgresCanMark(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const result = await client.query<{ can: boolean }>(
      `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           OR (has_function_privilege('pg_replication_origin_create(text)', 'EXECUTE')
               AND has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE')
               AND has_function_privilege('pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone)', 'EXECUTE')) AS can`,
    );
    return result.rows[0]?.can === true;
  } finally {
    await client.end();
  }
}

async function mariadbCanMark(url: string): Promise<boolean> {
  const parsed = new URL(url);
  const connection = await mysql.createConnection({
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    connectTimeout: 10_000,
  });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
    return rows.some((row) =>
      Object.values(row).some(
        (grant) =>
          typeof grant === 'string' &&
          /ON \*\.\*/.test(grant) &&
          /ALL PRIVILEGES|BINLOG REPLAY|SUPER/.test(grant),
      ),
    );
  } finally {
    await connection.end();
  }
}
