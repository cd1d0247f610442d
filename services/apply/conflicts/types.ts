/**
 * The conflict model every part of conflict handling speaks, and the signature of a custom resolver: a user
 * module named in the configuration (`conflicts.resolver`) whose default export is a `Resolver`.
 *
 * A version is (original commit time, origin node). Both sides of a link compare the very same pair for a
 * given row version (the commit time is the source's microseconds, kept through the replica by
 * pg_replication_origin_xact_setup, and the origin is named by node), so every node decides alike.
 */
import type { Row } from '../../../schemas/events/change-event.ts';

export const CONFLICT_KINDS = [
  'insert_exists',
  'update_differs',
  'update_missing',
  'delete_missing',
  'delete_differs',
  'unique_violation',
] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export const CONFLICT_OUTCOMES = [
  'applied_remote',
  'kept_local',
  'merged',
  'skipped',
  'dead_lettered',
] as const;
export type ConflictOutcome = (typeof CONFLICT_OUTCOMES)[number];

/** Whole-row policies; `merge` is column-level merge. */
export const ROW_POLICIES = [
  'last-writer-wins',
  'origin-priority',
  'merge',
  'keep-local',
  'keep-remote',
  'custom',
] as const;
export type RowPolicy = (typeof ROW_POLICIES)[number];

/** Per-column policies: `delta` applies new − old of a counter to the local value. */
export const COLUMN_POLICIES = ['delta', 'last-writer-wins', 'keep-local', 'keep-remote'] as const;
export type ColumnPolicy = (typeof COLUMN_POLICIES)[number];

/** Who wrote a row version, and when it was first committed. */
export interface Version {
  /** Original commit time, microseconds since the Unix epoch. */
  readonly commitMicros: bigint;
  /** The node that first committed it. */
  readonly origin: string;
}

/** What a custom resolver is shown. Rows are as the event carries them (remote) and as the replica reads them back, as text (local). */
export interface Conflict {
  readonly kind: ConflictKind;
  /** `schema.table` of the source table. */
  readonly table: string;
  readonly key: Row;
  /** The local row (values as the target's text), or null when it is missing. */
  readonly local: Readonly<Record<string, unknown>> | null;
  readonly localVersion: Version | null;
  /** The event's old image (may be the key only). */
  readonly remoteBefore: Row | null;
  /** The event's new row, or null for a delete. */
  readonly remoteAfter: Row | null;
  readonly remoteVersion: Version;
}

/**
 * What to do: apply the remote change as it is, keep the local row, or write a row of the resolver's making
 * (an update of the columns it names; for a missing row, an insert).
 */
export type Resolution =
  | { readonly action: 'apply-remote' }
  | { readonly action: 'keep-local' }
  | { readonly action: 'write'; readonly row: Row }
  | { readonly action: 'dead-letter'; readonly reason: string };

export type Resolver = (conflict: Conflict) => Resolution;

/** Conflict settings of one table (or the defaults of a link). */
export interface TablePolicy {
  readonly policy: RowPolicy;
  readonly columns: Readonly<Record<string, ColumnPolicy>>;
}

/** Conflict handling of one sink (one link). */
export interface ConflictSettings {
  /** The node this sink writes into: a row written locally (origin 0) is this node's. */
  readonly localNode: string;
  readonly defaults: TablePolicy;
  /** Per source table `schema.table`. */
  readonly tables: Readonly<Record<string, Partial<TablePolicy>>>;
  /** Ordered nodes for `origin-priority`: earlier wins. */
  readonly originPriority: readonly string[];
  /** How long a tombstone is kept, in milliseconds. */
  readonly tombstoneRetentionMillis: number;
  /** Changes whose commit time is ahead of the target's clock by more than this are warned about (clock-skew.ts). */
  readonly maxClockSkewMillis?: number;
  /** Replication origin names and the node each stands for (a topology's link origins); others are parsed. */
  readonly originNodes?: Readonly<Record<string, string>>;
  /** Patterns (`schema.table`, `schema.*`) of the target's tables whose local deletes leave tombstones from the start. */
  readonly localTables?: readonly string[];
  /** The custom resolver. */
  readonly resolver?: Resolver;
  /** Path of the module exporting the custom resolver as default, loaded when the sink prepares. */
  readonly resolverModule?: string;
}

/** `true` when `a` is the later version: commit time first, then origin node name (deterministic tie-break). */
export function isNewer(a: Version, b: Version): boolean {
  if (a.commitMicros !== b.commitMicros) return a.commitMicros > b.commitMicros;
  return a.origin > b.origin;
}

/** `true` when both name the same version: the same commit time and origin node. */
export function sameVersion(a: Version, b: Version): boolean {
  return a.commitMicros === b.commitMicros && a.origin === b.origin;
}

export function tablePolicy(settings: ConflictSettings, table: string): TablePolicy {
  const own = settings.tables[table];
  return {
    policy: own?.policy ?? settings.defaults.policy,
    columns: { ...settings.defaults.columns, ...own?.columns },
  };
}
