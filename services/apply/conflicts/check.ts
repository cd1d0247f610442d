/**
 * What one change is checked with (its table, policy, key and version), and the pure helpers that find a
 * change's key and the old image the local row is compared with.
 */
import type {
  ChangeEvent,
  DeleteEvent,
  InsertEvent,
  Row,
  UpdateEvent,
} from '../../../schemas/events/change-event.ts';
import type { TableShape } from '../sql-dialect.ts';
import { unsentColumns } from '../statements.ts';
import { tablePolicy, type Conflict, type ConflictKind, type ConflictSettings } from './types.ts';
import type { TablePolicy, Version } from './types.ts';
import { keyJson } from './values-json.ts';

/** Everything one change needs while it is checked. */
export interface Check {
  readonly link: string;
  readonly shape: TableShape;
  readonly table: string;
  readonly policy: TablePolicy;
  readonly key: Row;
  readonly keyJson: string;
  readonly remote: Version;
}

/** `schema.table` of the source table, as the conflict log and tombstones name it. */
export function tableName(shape: TableShape): string {
  return `${shape.table.schema}.${shape.table.table}`;
}

/** The check of a change that does not move its row to another key. */
export function checkOf(
  settings: ConflictSettings,
  link: string,
  shape: TableShape,
  event: InsertEvent | UpdateEvent | DeleteEvent,
): Check {
  const table = tableName(shape);
  const identity =
    event.op === 'c'
      ? event.after
      : event.op === 'd'
        ? event.before
        : (keyed(shape, event.before) ?? event.after);
  const key = pickKey(shape, identity);
  return {
    link,
    shape,
    table,
    policy: tablePolicy(settings, table),
    key,
    keyJson: keyJson(shape.table.key, key),
    remote: {
      commitMicros: event.source.commitTimeMicros,
      origin: event.source.origin ?? event.source.connector,
    },
  };
}

/**
 * An update whose old image carries the whole key and whose new row holds another one, with every column sent
 * (a row with unchanged TOAST columns cannot be inserted under the new key from the event alone: it is updated
 * in place, as without conflict handling).
 */
export function movesKey(
  shape: TableShape,
  event: UpdateEvent,
): event is UpdateEvent & { readonly before: Row } {
  const before = keyed(shape, event.before);
  if (before === null || unsentColumns(shape.table, event.after, event.unchanged).length > 0) return false;
  return (
    keyJson(shape.table.key, pickKey(shape, before)) !== keyJson(shape.table.key, pickKey(shape, event.after))
  );
}

export function pickKey(shape: TableShape, row: Row): Row {
  return Object.fromEntries(shape.table.key.map((name) => [name, row[name] ?? null]));
}

/** What a custom resolver is shown. */
export function conflictOf(
  check: Check,
  kind: ConflictKind,
  local: Record<string, unknown> | null,
  localVersion: Version | null,
  event: ChangeEvent,
): Conflict {
  return {
    kind,
    table: check.table,
    key: check.key,
    local,
    localVersion,
    remoteBefore: event.before,
    remoteAfter: event.after,
    remoteVersion: check.remote,
  };
}

/** `before` when it carries the whole key. */
function keyed(shape: TableShape, before: Row | null): Row | null {
  return before && shape.table.key.every((name) => before[name] !== undefined && before[name] !== null)
    ? before
    : null;
}

/** The old image without the key columns: what the local row is compared with. */
export function nonKey(shape: TableShape, before: Row | null): Row {
  const key = new Set(shape.table.key);
  return Object.fromEntries(
    Object.entries(before ?? {}).filter(([name, value]) => !key.has(name) && value !== undefined),
  );
}
