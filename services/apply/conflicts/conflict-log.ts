/**
 * The conflict log: every conflict the sink detects is written to `cdc_apply.conflicts` in the same target
 * transaction as its resolution, so a listed conflict always happened and a rolled-back one is never listed.
 * The table's format is fixed (the listing API and CLI read it through `readConflicts`); timestamps are UTC.
 */
import type { Statement } from '../sql-dialect.ts';
import type { ConflictKind, ConflictOutcome } from './types.ts';

export const POSTGRES_CONFLICT_DDL: readonly string[] = [
  'CREATE SCHEMA IF NOT EXISTS cdc_apply',
  `CREATE TABLE IF NOT EXISTS cdc_apply.conflicts (
    id bigserial PRIMARY KEY,
    detected_at timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    link text NOT NULL,
    table_name text NOT NULL,
    key_json text NOT NULL,
    kind text NOT NULL,
    policy text NOT NULL,
    outcome text NOT NULL,
    local_json text,
    remote_json text,
    local_origin text,
    remote_origin text,
    local_commit_ts timestamp(6),
    remote_commit_ts timestamp(6))`,
  'CREATE INDEX IF NOT EXISTS conflicts_table_id ON cdc_apply.conflicts (table_name, id)',
];

export const MARIADB_CONFLICT_DDL: readonly string[] = [
  'CREATE DATABASE IF NOT EXISTS cdc_apply',
  `CREATE TABLE IF NOT EXISTS cdc_apply.conflicts (
    id bigint AUTO_INCREMENT PRIMARY KEY,
    detected_at datetime(6) NOT NULL DEFAULT UTC_TIMESTAMP(6),
    link varchar(255) NOT NULL,
    table_name varchar(512) NOT NULL,
    key_json text NOT NULL,
    kind varchar(32) NOT NULL,
    policy varchar(64) NOT NULL,
    outcome varchar(32) NOT NULL,
    local_json longtext,
    remote_json longtext,
    local_origin varchar(255),
    remote_origin varchar(255),
    local_commit_ts datetime(6),
    remote_commit_ts datetime(6),
    KEY conflicts_table_id (table_name, id))`,
];

/** One conflict as recorded. Timestamps are ISO text in UTC with microseconds (`2026-12-03T14:02:03.123456Z`). */
export interface ConflictRecord {
  readonly id: string;
  readonly detectedAt: string;
  readonly link: string;
  readonly table: string;
  readonly keyJson: string;
  readonly kind: ConflictKind;
  readonly policy: string;
  readonly outcome: ConflictOutcome;
  readonly localJson: string | null;
  readonly remoteJson: string | null;
  readonly localOrigin: string | null;
  readonly remoteOrigin: string | null;
  readonly localCommitTs: string | null;
  readonly remoteCommitTs: string | null;
}

/** What the sink writes; `detected_at` and `id` come from the target. */
export type NewConflict = Omit<ConflictRecord, 'id' | 'detectedAt'>;

const COLUMNS = [
  'link',
  'table_name',
  'key_json',
  'kind',
  'policy',
  'outcome',
  'local_json',
  'remote_json',
  'local_origin',
  'remote_origin',
  'local_commit_ts',
  'remote_commit_ts',
] as const;

type Flavor = 'postgres' | 'mariadb';

function placeholder(flavor: Flavor, index: number): string {
  return flavor === 'postgres' ? `$${index}` : '?';
}

/** The INSERT of one conflict record (timestamps given as ISO text in UTC). */
export function recordConflict(conflict: NewConflict, flavor: Flavor = 'postgres'): Statement {
  const values = [
    conflict.link,
    conflict.table,
    conflict.keyJson,
    conflict.kind,
    conflict.policy,
    conflict.outcome,
    conflict.localJson,
    conflict.remoteJson,
    conflict.localOrigin,
    conflict.remoteOrigin,
    flavor === 'mariadb' ? mariadbTimestamp(conflict.localCommitTs) : conflict.localCommitTs,
    flavor === 'mariadb' ? mariadbTimestamp(conflict.remoteCommitTs) : conflict.remoteCommitTs,
  ];
  const cast = (index: number): string =>
    flavor === 'postgres' && index >= 10
      ? `${placeholder(flavor, index + 1)}::timestamptz AT TIME ZONE 'UTC'`
      : placeholder(flavor, index + 1);
  return {
    text: `INSERT INTO cdc_apply.conflicts (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => cast(i)).join(', ')})`,
    values,
  };
}

function mariadbTimestamp(iso: string | null): string | null {
  return iso === null ? null : iso.replace('T', ' ').replace(/Z$/, '');
}

export interface ConflictFilter {
  /** `schema.table` as in the event. */
  readonly table?: string;
  /** Detected at or after this instant (ISO text, or a Date). */
  readonly since?: string | Date;
  readonly policy?: string;
  readonly kind?: ConflictKind;
  /** Records with an id above this one (paging: pass the last id of the previous page). */
  readonly afterId?: string;
  readonly limit: number;
}

/** Anything that runs a statement and returns its rows: a sink's TargetConnection, or a thin wrapper of a client. */
export interface StatementRunner {
  run(statement: Statement): Promise<{ readonly rows: readonly Record<string, unknown>[] }>;
}

/** Recorded conflicts in id order, filtered and paged. */
export async function readConflicts(
  connection: StatementRunner,
  filter: ConflictFilter,
  flavor: Flavor = 'postgres',
): Promise<ConflictRecord[]> {
  const values: unknown[] = [];
  const where: string[] = [];
  const add = (condition: (p: string) => string, value: unknown): void => {
    values.push(value);
    where.push(condition(placeholder(flavor, values.length)));
  };
  if (filter.table !== undefined) add((p) => `table_name = ${p}`, filter.table);
  if (filter.policy !== undefined) add((p) => `policy = ${p}`, filter.policy);
  if (filter.kind !== undefined) add((p) => `kind = ${p}`, filter.kind);
  if (filter.afterId !== undefined) add((p) => `id > ${p}`, filter.afterId);
  if (filter.since !== undefined) {
    const since = filter.since instanceof Date ? filter.since.toISOString() : filter.since;
    if (flavor === 'postgres') add((p) => `detected_at >= (${p}::timestamptz AT TIME ZONE 'UTC')`, since);
    else add((p) => `detected_at >= ${p}`, mariadbTimestamp(new Date(since).toISOString()));
  }
  values.push(Math.max(1, Math.floor(filter.limit)));
  const ts = (column: string): string =>
    flavor === 'postgres'
      ? `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : `DATE_FORMAT(${column}, '%Y-%m-%dT%H:%i:%s.%fZ')`;
  const text = `SELECT id, ${ts('detected_at')} AS detected_at, link, table_name, key_json, kind, policy, outcome,
      local_json, remote_json, local_origin, remote_origin,
      ${ts('local_commit_ts')} AS local_commit_ts, ${ts('remote_commit_ts')} AS remote_commit_ts
    FROM cdc_apply.conflicts${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY id LIMIT ${placeholder(flavor, values.length)}`;
  const result = await connection.run({ text, values });
  return result.rows.map((row) => {
    const text = (name: string): string | null => {
      const value = row[name];
      return typeof value === 'string'
        ? value
        : value === null || value === undefined
          ? null
          : JSON.stringify(value);
    };
    return {
      id: String(row.id),
      detectedAt: String(text('detected_at')),
      link: String(row.link),
      table: String(row.table_name),
      keyJson: String(row.key_json),
      kind: row.kind as ConflictKind,
      policy: String(row.policy),
      outcome: row.outcome as ConflictOutcome,
      localJson: text('local_json'),
      remoteJson: text('remote_json'),
      localOrigin: text('local_origin'),
      remoteOrigin: text('remote_origin'),
      localCommitTs: text('local_commit_ts'),
      remoteCommitTs: text('remote_commit_ts'),
    };
  });
}
