/**
 * A small client for read-your-writes, for applications written in TypeScript: take a position token from
 * the connection that just committed, then wait until a replica holds it (`GET /replicas/:name/wait`).
 * It depends on nothing but `fetch`; the database connection is whatever `pg` or `mysql2` object the
 * application already has, seen through the one method used.
 */

/** What is needed of a `pg` Client or Pool. */
export interface PgQueryable {
  query(sql: string): Promise<{ rows: readonly Record<string, unknown>[] }>;
}

/** What is needed of a `mysql2/promise` Connection or Pool. */
export interface MysqlQueryable {
  query(sql: string): Promise<readonly [unknown, unknown]>;
}

export type TokenSource =
  | { readonly postgres: PgQueryable }
  | { readonly mariadb: MysqlQueryable }
  | { readonly mysql: MysqlQueryable };

/**
 * The source's position after a commit: call it after COMMIT returned (on any connection to the source).
 * PostgreSQL `pg_current_wal_insert_lsn()`, MariaDB `@@gtid_binlog_pos`, MySQL `@@gtid_executed`.
 */
export async function positionAfterCommit(source: TokenSource): Promise<string> {
  if ('postgres' in source) {
    const { rows } = await source.postgres.query('SELECT pg_current_wal_insert_lsn()::text AS position');
    const position = rows[0]?.position;
    return typeof position === 'string' ? position : '';
  }
  const [connection, sql] =
    'mariadb' in source
      ? [source.mariadb, 'SELECT @@gtid_binlog_pos AS position']
      : [source.mysql, 'SELECT @@gtid_executed AS position'];
  const [rows] = await connection.query(sql);
  const first = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
  const position = first?.position;
  return typeof position === 'string' ? position : '';
}

export interface ReplicaWaitRequest {
  /** The control API, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** A bearer token with the `read` scope, when the API has tokens. */
  readonly token?: string;
  readonly replica: string;
  readonly position: string;
  /** At most 60000; default 10000. */
  readonly timeoutMs?: number;
}

export interface ReplicaWaitAnswer {
  readonly replica: string;
  readonly source: string;
  readonly position: string;
  readonly appliedPosition: string | null;
  readonly waitedMillis: number;
}

/** Thrown for any answer but 200: `status` 408 means the replica was not there in time. */
export class ReplicaWaitError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ReplicaWaitError';
    this.status = status;
    this.code = code;
  }
}

/** Resolves once the replica holds everything the source committed up to `position`. */
export async function replicaWait(request: ReplicaWaitRequest): Promise<ReplicaWaitAnswer> {
  const query = new URLSearchParams({ position: request.position });
  if (request.timeoutMs !== undefined) query.set('timeoutMs', String(request.timeoutMs));
  const response = await fetch(
    `${request.url}/replicas/${encodeURIComponent(request.replica)}/wait?${query.toString()}`,
    request.token === undefined ? {} : { headers: { authorization: `Bearer ${request.token}` } },
  );
  const body = (await response.json()) as ReplicaWaitAnswer & { error?: { code: string; message: string } };
  if (response.status !== 200)
    throw new ReplicaWaitError(
      response.status,
      body.error?.code ?? 'UNKNOWN',
      body.error?.message ?? `HTTP ${response.status}`,
    );
  return body;
}
