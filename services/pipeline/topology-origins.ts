/**
 * At start-up, decides and says for every link of a topology how its writes will be marked in the target, so an
 * operator sees which mechanism loop prevention rests on before the first change flows:
 *   - PostgreSQL target: the link's replication origin (superuser, or EXECUTE on pg_replication_origin_*); without
 *     that privilege (`originMarking: auto`), or when asked for (`marker-row`), a marker row in
 *     cdc_apply.origin_marks written first in each target transaction (services/apply/origin-marks.ts);
 *   - MariaDB target: the link's session server_id (BINLOG REPLAY, or SUPER); without it, or when asked for,
 *     the same marker row (its binlog capture reads cdc_apply.origin_marks by name).
 * The decision goes into the link's replica (`originMarking` native or marker-row) before its sink is built.
 * A marker row leaves no per-row origin for conflict handling to compare, so a link with conflict handling on
 * that would fall back is refused here, naming the grant.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { CdcError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { ORIGIN_MARKS } from '../apply/origin-marks.ts';
import { ORIGIN_FUNCTIONS, originGrant } from '../apply/postgres/origin-functions.ts';
import type { ReplicaConfig } from '../config/schema.ts';
import type { CompiledLink, CompiledTopology } from '../config/topology-compile.ts';
import { isTwoWay, linkLabel } from '../config/topology.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';

export type OriginMarking =
  | { readonly kind: 'replication-origin' | 'server-id'; readonly marker: string }
  /** `reason`: why native marking is not used (null when the configuration asks for the marker row). */
  | { readonly kind: 'marker-row'; readonly marker: string; readonly reason: string | null }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * Decides, and logs, per link the marking its target supports; returns the replicas with `originMarking`
 * settled (native or marker-row). A link whose target cannot be checked yet keeps its setting (`auto` then
 * marks natively, and the worker reports a missing privilege when it writes). Checks run one after the other.
 */
export async function resolveOriginMarking(
  topology: CompiledTopology,
  replicas: readonly ReplicaConfig[],
  logger: Logger,
): Promise<ReplicaConfig[]> {
  const resolved: ReplicaConfig[] = [];
  for (const replica of replicas) {
    const link = topology.links.find((candidate) => candidate.replica === replica.name);
    if (link === undefined) {
      resolved.push(replica);
      continue;
    }
    let marking: OriginMarking;
    try {
      marking = await originMarking(link, replica);
    } catch (error) {
      logger.warn(
        { link: link.replica, err: error },
        `${linkLabel(link)}: cannot check how its writes will be marked in ${link.to} yet (${errorMessage(error)}); its apply worker marks them natively and reports a missing privilege when it connects (set originMarking: marker-row on node ${link.to} to use the fallback without this check)`,
      );
      resolved.push(replica);
      continue;
    }
    if (marking.kind === 'marker-row' && replica.conflicts?.enabled === true)
      throw new CdcError(
        'CONFIG_INVALID',
        `${linkLabel(link)}: writes into ${link.to} could only be marked with a marker row (${marking.reason ?? 'originMarking: marker-row'}), and conflict handling compares the origin PostgreSQL keeps per row, which a marker row does not set: grant the privilege, or turn conflict handling off for the link (apply.conflicts.enabled: false)`,
        { link: link.replica },
      );
    logMarking(logger, link, marking);
    resolved.push({
      ...replica,
      originMarking: marking.kind === 'marker-row' ? 'marker-row' : 'native',
    });
  }
  return resolved;
}

function logMarking(logger: Logger, link: CompiledLink, marking: OriginMarking): void {
  const fields = { link: link.replica, marking: marking.kind };
  const label = `${linkLabel(link)}: writes into ${link.to} are marked with`;
  switch (marking.kind) {
    case 'none':
      logger.error(
        fields,
        `${linkLabel(link)}: writes into ${link.to} cannot be marked with their origin: ${marking.reason}; its apply worker fails when it tries to mark them${isTwoWay(link.shape) ? ' (a pair or mesh link must not run unmarked: its changes would go round)' : ''}`,
      );
      return;
    case 'marker-row':
      logger.info(
        fields,
        `${label} a marker row in ${ORIGIN_MARKS} (${marking.marker})${marking.reason === null ? ', as configured' : ` (${marking.reason} to use native marking)`}`,
      );
      return;
    case 'replication-origin':
      logger.info(fields, `${label} replication origin ${marking.marker}`);
      return;
    case 'server-id':
      logger.info(fields, `${label} session server_id ${marking.marker}`);
  }
}

export async function originMarking(link: CompiledLink, replica: ReplicaConfig): Promise<OriginMarking> {
  if (link.marker === null) return { kind: 'none', reason: `node ${link.to} has origins: false` };
  switch (replica.kind) {
    case 'postgres': {
      if (link.marking === 'marker-row') return { kind: 'marker-row', marker: link.marker, reason: null };
      const user = await postgresUserWithoutOrigins(replica.url);
      if (user === null) return { kind: 'replication-origin', marker: link.marker };
      const reason = `no privilege for replication origins: ${originGrant(user)}`;
      return link.marking === 'auto'
        ? { kind: 'marker-row', marker: link.marker, reason }
        : {
            kind: 'none',
            reason: `the user is no superuser and lacks EXECUTE on pg_replication_origin_* (${reason}, PostgreSQL 14 or later; or set originMarking: marker-row)`,
          };
    }
    case 'mariadb': {
      if (link.marking === 'marker-row') return { kind: 'marker-row', marker: link.marker, reason: null };
      if (await mariadbCanMark(replica.url)) return { kind: 'server-id', marker: link.marker };
      const user = decodeURIComponent(new URL(replica.url).username);
      const reason = `no privilege to set the session server_id: GRANT BINLOG REPLAY ON *.* TO '${user}'`;
      return link.marking === 'auto'
        ? { kind: 'marker-row', marker: link.marker, reason }
        : {
            kind: 'none',
            reason: `setting the session server_id needs BINLOG REPLAY (${reason}; or set originMarking: marker-row)`,
          };
    }
  }
}

async function postgresUserWithoutOrigins(url: string): Promise<string | null> {
  const client = new pg.Client({ ...postgresConnectOptions(url), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await userWithoutOrigins(client);
  } finally {
    await client.end();
  }
}

/** The session user's name when it may not use replication origins; null when it may. */
export async function userWithoutOrigins(client: pg.Client): Promise<string | null> {
  const result = await client.query<{ can: boolean; user: string }>(
    `SELECT current_user AS user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           OR (SELECT bool_and(has_function_privilege(f::regprocedure, 'EXECUTE')) FROM unnest($1::text[]) f) AS can`,
    [ORIGIN_FUNCTIONS],
  );
  const row = result.rows[0];
  return row?.can === true ? null : (row?.user ?? '<user>');
}

async function mariadbCanMark(url: string): Promise<boolean> {
  const connection = await mysql.createConnection({
    ...mysqlConnectOptions(url),
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
