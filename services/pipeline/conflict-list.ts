/**
 * Lists the conflicts recorded in the targets of a pipeline's replicas (`GET /conflicts`, `cdc conflicts`).
 * The apply of a replica records each conflict it resolves, in the same target transaction, in
 * `cdc_apply.conflicts` of its target (a schema of the PostgreSQL database, a database of the MariaDB server).
 * Several links can write into one log (every link into a mesh node; every replica on one MariaDB server), so
 * each log is read once. The log's `link` column names the stream a conflict came with (the replica's source,
 * a topology link's `from` node), which with the target tells the replica: only this pipeline's replicas are
 * listed. A target where nothing was ever recorded has no table yet: it lists nothing.
 *
 * Pages run through the targets in configuration order and within one by id, so a cursor (`<target>.<id>`)
 * is stable while new conflicts are recorded: they come after it.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { CdcError, errorMessage } from '../../common/errors.ts';
import type { ReplicaConfig } from '../config/schema.ts';

import type { ConflictKind } from '../apply/conflicts/types.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';

export { CONFLICT_KINDS, type ConflictKind } from '../apply/conflicts/types.ts';

export interface ConflictQuery {
  /** Only conflicts of this replica (link); every replica's when absent. */
  readonly replica?: string;
  /** `schema.table` as recorded. */
  readonly table?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly policy?: string;
  readonly kind?: ConflictKind;
  /** The `next` of a previous page. */
  readonly cursor?: string;
  readonly limit: number;
}

export interface ConflictEntry {
  readonly id: string;
  readonly replica: string;
  readonly detectedAt: string;
  readonly table: string;
  readonly key: unknown;
  readonly kind: string;
  readonly policy: string;
  readonly outcome: string;
  readonly local: unknown;
  readonly remote: unknown;
  readonly localOrigin: string | null;
  readonly remoteOrigin: string | null;
  readonly localCommitTs: string | null;
  readonly remoteCommitTs: string | null;
}

export interface ConflictPage {
  readonly entries: readonly ConflictEntry[];
  /** Cursor of the next page, null when this one reached the end. */
  readonly next: string | null;
}

export interface ConflictLister {
  list(query: ConflictQuery): Promise<ConflictPage>;
}

interface Target {
  readonly kind: ReplicaConfig['kind'];
  readonly url: string;
  /** The replicas writing into this target, and the source (stream) each applies. */
  readonly replicas: readonly { readonly name: string; readonly source: string }[];
}

interface Filter {
  /** The streams (`link` column: the replicas' sources) whose conflicts to read. */
  readonly links: readonly string[];
  readonly table?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly policy?: string;
  readonly kind?: string;
  readonly afterId: bigint;
  readonly limit: number;
}

export function conflictLister(replicas: readonly ReplicaConfig[]): ConflictLister {
  const targets: Target[] = [];
  for (const replica of replicas) {
    const known = targets.find((t) => t.kind === replica.kind && sameLog(t.url, replica.url, t.kind));
    const entry = { name: replica.name, source: replica.source };
    if (known) (known.replicas as (typeof entry)[]).push(entry);
    else targets.push({ kind: replica.kind, url: replica.url, replicas: [entry] });
  }
  return {
    async list(query) {
      if (query.replica !== undefined && !replicas.some((r) => r.name === query.replica)) {
        const names = replicas.map((r) => r.name).join(', ') || 'none';
        throw new CdcError(
          'NOT_FOUND',
          `no replica named ${JSON.stringify(query.replica)} (replicas: ${names})`,
          { replica: query.replica },
        );
      }
      let [index, afterId] = parseCursor(query.cursor, targets.length);
      const entries: ConflictEntry[] = [];
      for (; index < targets.length; index++, afterId = 0n) {
        const target = targets[index] as Target;
        const wantedReplicas = target.replicas.filter(
          (r) => query.replica === undefined || r.name === query.replica,
        );
        if (wantedReplicas.length === 0) continue;
        const wanted = query.limit - entries.length;
        // The page is full: the next one starts with this target (it may find nothing more there).
        if (wanted === 0) return { entries, next: `${index}.${afterId}` };
        const rows = await readTarget(target, {
          ...query,
          links: wantedReplicas.map((r) => r.source),
          afterId,
          limit: wanted + 1,
        });
        const taken = rows.slice(0, wanted);
        entries.push(...taken);
        if (rows.length > wanted) return { entries, next: `${index}.${taken.at(-1)?.id}` };
      }
      return { entries, next: null };
    },
  };
}

/**
 * Whether two targets share one conflict log: a PostgreSQL database has its own `cdc_apply` schema, while
 * MariaDB's `cdc_apply` database is one per server, whatever database the replica writes.
 */
function sameLog(a: string, b: string, kind: ReplicaConfig['kind']): boolean {
  if (kind === 'postgres') return a === b;
  const server = (url: string) => {
    const parsed = new URL(url);
    return `${parsed.username}@${parsed.hostname}:${parsed.port}`;
  };
  return server(a) === server(b);
}

function parseCursor(cursor: string | undefined, targets: number): [number, bigint] {
  if (cursor === undefined) return [0, 0n];
  const match = /^([0-9]{1,4})\.([0-9]{1,19})$/.exec(cursor);
  if (match === null || Number(match[1]) >= targets)
    throw new CdcError('REQUEST_INVALID', `cursor: ${JSON.stringify(cursor)} is not a cursor of this list`, {
      cursor,
    });
  return [Number(match[1]), BigInt(match[2] as string)];
}

interface Row {
  readonly id: string | number;
  readonly detected_at: string;
  readonly link: string;
  readonly table_name: string;
  readonly key_json: string | null;
  readonly kind: string;
  readonly policy: string;
  readonly outcome: string;
  readonly local_json: string | null;
  readonly remote_json: string | null;
  readonly local_origin: string | null;
  readonly remote_origin: string | null;
  readonly local_commit_ts: string | null;
  readonly remote_commit_ts: string | null;
}

async function readTarget(target: Target, filter: Filter): Promise<ConflictEntry[]> {
  try {
    const rows =
      target.kind === 'postgres'
        ? await readPostgres(target.url, filter)
        : await readMariadb(target.url, filter);
    return rows.map((row) =>
      toEntry(row, target.replicas.find((r) => r.source === row.link)?.name ?? row.link),
    );
  } catch (error) {
    throw new CdcError(
      'TARGET_UNREACHABLE',
      `cannot read the conflicts of ${names(target)} from their target: ${errorMessage(error)}`,
      { replicas: names(target) },
      { cause: error },
    );
  }
}

/** The conditions of a filter, with `?` placeholders and their values in order. */
function conditions(filter: Filter): { where: string; values: unknown[] } {
  const parts: string[] = ['id > ?'];
  const values: unknown[] = [filter.afterId.toString()];
  const add = (sql: string, value: unknown) => {
    parts.push(sql);
    values.push(value);
  };
  parts.push(`link IN (${filter.links.map(() => '?').join(', ')})`);
  values.push(...filter.links);
  if (filter.table !== undefined) add('table_name = ?', filter.table);
  if (filter.policy !== undefined) add('policy = ?', filter.policy);
  if (filter.kind !== undefined) add('kind = ?', filter.kind);
  if (filter.since !== undefined) add('detected_at >= ?', utcText(filter.since));
  if (filter.until !== undefined) add('detected_at < ?', utcText(filter.until));
  return { where: parts.join(' AND '), values };
}

/** `YYYY-MM-DD HH:MM:SS.ffffff`, read as UTC by both databases (their sessions run in UTC here). */
const utcText = (at: Date): string => at.toISOString().replace('T', ' ').replace('Z', '');

const PG_TS = (column: string) =>
  `to_char(${column}::timestamptz, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${column}`;

async function readPostgres(url: string, filter: Filter): Promise<Row[]> {
  const client = new pg.Client({ ...postgresConnectOptions(url), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // Timestamps without a zone are the target's UTC (the sink writes them so); with one, shown in UTC.
    await client.query(`SET TimeZone = 'UTC'`);
    const exists = await client.query<{ t: string | null }>(
      `SELECT to_regclass('cdc_apply.conflicts')::text AS t`,
    );
    if (exists.rows[0]?.t === null) return [];
    const { where, values } = conditions(filter);
    let n = 0;
    const sql = `SELECT id::text AS id, ${PG_TS('detected_at')}, link, table_name, key_json::text AS key_json, kind,
        policy, outcome, local_json::text AS local_json, remote_json::text AS remote_json, local_origin,
        remote_origin, ${PG_TS('local_commit_ts')}, ${PG_TS('remote_commit_ts')}
      FROM cdc_apply.conflicts WHERE ${where.replaceAll('?', () => `$${++n}`)} ORDER BY id LIMIT ${filter.limit}`;
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const MY_TS = (column: string) => `DATE_FORMAT(${column}, '%Y-%m-%dT%H:%i:%s.%fZ') AS ${column}`;

async function readMariadb(url: string, filter: Filter): Promise<Row[]> {
  const connection = await mysql.createConnection({
    ...mysqlConnectOptions(url),
    connectTimeout: 10_000,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  try {
    await connection.query(`SET time_zone = '+00:00'`);
    const [tables] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = 'cdc_apply' AND table_name = 'conflicts'`,
    );
    if (tables.length === 0) return [];
    const { where, values } = conditions(filter);
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT CAST(id AS CHAR) AS id, ${MY_TS('detected_at')}, link, table_name, key_json, kind, policy, outcome,
        local_json, remote_json, local_origin, remote_origin, ${MY_TS('local_commit_ts')}, ${MY_TS('remote_commit_ts')}
      FROM cdc_apply.conflicts WHERE ${where} ORDER BY id LIMIT ${filter.limit}`,
      values,
    );
    return rows as unknown as Row[];
  } finally {
    await connection.end();
  }
}

const names = (target: Target): string => target.replicas.map((r) => r.name).join(', ');

function toEntry(row: Row, replica: string): ConflictEntry {
  return {
    id: String(row.id),
    replica,
    detectedAt: row.detected_at,
    table: row.table_name,
    key: json(row.key_json),
    kind: row.kind,
    policy: row.policy,
    outcome: row.outcome,
    local: json(row.local_json),
    remote: json(row.remote_json),
    localOrigin: row.local_origin,
    remoteOrigin: row.remote_origin,
    localCommitTs: row.local_commit_ts,
    remoteCommitTs: row.remote_commit_ts,
  };
}

/** JSON columns arrive as text (PostgreSQL cast, MariaDB's JSON is LONGTEXT); a driver may parse them first. */
function json(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
