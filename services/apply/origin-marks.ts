/**
 * Marker-row origin marking: the fallback for a target that refuses native marking (a PostgreSQL user without
 * the replication-origin functions). The sink's first write in every target transaction upserts the link's row
 * of `cdc_apply.origin_marks`, so the target's own capture reads that write at the start of the same transaction
 * and takes the whole transaction as the link's (services/pipeline/origin-filter.ts), as it would a replication
 * origin. The row is keyed by the marker the native way would use (the link's origin name), so a node's capture
 * rule needs nothing new. One row per link, updated in place: the table never grows.
 *
 * What it cannot do: PostgreSQL keeps no per-row trace of it (pg_xact_commit_timestamp_origin reads origin 0,
 * the commit time this node's), so conflict handling, which compares those, is refused with it.
 */
import type { ChangeEvent, Row } from '../../schemas/events/change-event.ts';
import { formatCommit, parseCommit, type CommitPosition } from '../../schemas/positions/position.ts';
import type { Statement } from './sql-dialect.ts';

export const ORIGIN_MARKS_SCHEMA = 'cdc_apply';
export const ORIGIN_MARKS_TABLE = 'origin_marks';
/** As a table pattern of a capture (`schema.table`). */
export const ORIGIN_MARKS = `${ORIGIN_MARKS_SCHEMA}.${ORIGIN_MARKS_TABLE}`;

/** Idempotent; run by the sink and, before capture starts, by the node's capture (it must be in the publication). */
export const POSTGRES_ORIGIN_MARKS_DDL: readonly string[] = [
  'CREATE SCHEMA IF NOT EXISTS cdc_apply',
  `CREATE TABLE IF NOT EXISTS cdc_apply.origin_marks (
    marker text PRIMARY KEY,
    origin_node text NOT NULL,
    origin_position text NOT NULL,
    origin_commit_micros bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now())`,
];

/** What the SQL sink asks of a marker writer. */
export interface OriginMarkWriter {
  readonly create: readonly string[];
  /**
   * The upsert marking the open target transaction as written by `stream`'s link; `last` is the last event the
   * transaction is to hold (its origin commit position and time, as a replication origin would carry them);
   * `marker`, when given, the mark native marking would use for it (a relayed change's original node's).
   */
  mark(stream: string, last: ChangeEvent, marker?: string): Statement;
}

/** `markerOf(stream)`: the link's marker, the replication origin name native marking would use. */
export function postgresOriginMarks(markerOf: (stream: string) => string): OriginMarkWriter {
  return {
    create: POSTGRES_ORIGIN_MARKS_DDL,
    mark: (stream, last, marker) => ({
      text: `INSERT INTO cdc_apply.origin_marks (marker, origin_node, origin_position, origin_commit_micros, written_at)
        VALUES ($1, $2, $3, $4, now())
        ON CONFLICT (marker) DO UPDATE SET origin_node = EXCLUDED.origin_node, origin_position = EXCLUDED.origin_position,
          origin_commit_micros = EXCLUDED.origin_commit_micros, written_at = now()`,
      values: [
        marker ?? markerOf(stream),
        stream,
        // A re-published change carries where it was first committed: that position travels on, not this hop's.
        formatCommit(last.source.originCommit ?? last.source.position.commit),
        last.source.commitTimeMicros.toString(),
      ],
    }),
  };
}

/** MariaDB: `cdc_apply` is a database of its own, which the node's binlog capture also reads for this table. */
export const MARIADB_ORIGIN_MARKS_DDL: readonly string[] = [
  'CREATE DATABASE IF NOT EXISTS `cdc_apply` CHARACTER SET utf8mb4',
  `CREATE TABLE IF NOT EXISTS \`cdc_apply\`.\`origin_marks\` (
    marker VARCHAR(255) NOT NULL PRIMARY KEY,
    origin_node VARCHAR(255) NOT NULL,
    origin_position TEXT NOT NULL,
    origin_commit_micros BIGINT NOT NULL,
    written_at DATETIME(6) NOT NULL)`,
];

/** `marker`: the session server id native marking would use, as text (what the node's capture rule maps). */
export function mariadbOriginMarks(marker: string): OriginMarkWriter {
  return {
    create: MARIADB_ORIGIN_MARKS_DDL,
    mark: (stream, last) => ({
      text: `INSERT INTO \`cdc_apply\`.\`origin_marks\` (marker, origin_node, origin_position, origin_commit_micros, written_at)
        VALUES (?, ?, ?, ?, NOW(6))
        ON DUPLICATE KEY UPDATE origin_node = VALUES(origin_node), origin_position = VALUES(origin_position),
          origin_commit_micros = VALUES(origin_commit_micros), written_at = NOW(6)`,
      values: [
        marker,
        stream,
        formatCommit(last.source.originCommit ?? last.source.position.commit),
        last.source.commitTimeMicros.toString(),
      ],
    }),
  };
}

/** A marker row as capture reads it. */
export interface OriginMark {
  readonly marker: string;
  readonly originCommit: CommitPosition | null;
  readonly commitTimeMicros: bigint | null;
}

export function isOriginMarkEvent(event: ChangeEvent): boolean {
  return event.table.schema === ORIGIN_MARKS_SCHEMA && event.table.table === ORIGIN_MARKS_TABLE;
}

/** The mark an insert or update of the marker table sets; null for what sets none (a delete, a truncate). */
export function readOriginMark(event: ChangeEvent): OriginMark | null {
  if (event.op !== 'c' && event.op !== 'u') return null;
  const row: Row = event.after;
  const marker = row.marker;
  if (typeof marker !== 'string') return null;
  return {
    marker,
    originCommit: commitOf(row.origin_position),
    commitTimeMicros: microsOf(row.origin_commit_micros),
  };
}

function commitOf(value: unknown): CommitPosition | null {
  if (typeof value !== 'string') return null;
  try {
    return parseCommit(value);
  } catch {
    // A position this version cannot read (written by a newer one): the origin node is still known.
    return null;
  }
}

function microsOf(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return null;
}
