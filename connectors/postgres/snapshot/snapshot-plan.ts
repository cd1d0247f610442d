/**
 * Snapshot progress as it is saved in CaptureBatch.state: which tables, which one is current, and the last
 * key read, as the server's text so it can be bound straight back into the keyset query after a restart.
 */
import type { ConnectorState } from '../../connector.ts';

export interface SnapshotPlan {
  readonly id: string;
  /** `schema.table` names, in the order they are read. */
  readonly tables: readonly string[];
  readonly tableIndex: number;
  /** Key values (text) of the last row read in the current table; null at the start of a table. */
  readonly lastKey: readonly string[] | null;
  readonly rowsDone: number;
  /**
   * A re-snapshot after a lost slot: each table's first chunk replaces the replica's copy of the table (a
   * snapshot truncate goes out before its rows), so rows deleted while changes were lost disappear too.
   */
  readonly replace?: boolean;
}

const STATE_KEY = 'postgresSnapshot';

export function planState(plan: SnapshotPlan | null): ConnectorState {
  return { [STATE_KEY]: plan };
}

/** The unfinished snapshot recorded in a resume state, if any. */
export function planFromState(state: ConnectorState | null): SnapshotPlan | null {
  const value = state?.[STATE_KEY];
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const { id, tables, tableIndex, lastKey, rowsDone, replace } = record;
  if (typeof id !== 'string' || !Array.isArray(tables) || typeof tableIndex !== 'number') return null;
  if (!tables.every((table): table is string => typeof table === 'string')) return null;
  const key =
    Array.isArray(lastKey) && lastKey.every((part): part is string => typeof part === 'string')
      ? lastKey
      : null;
  if (tableIndex >= tables.length) return null;
  return {
    id,
    tables,
    tableIndex,
    lastKey: key,
    rowsDone: typeof rowsDone === 'number' ? rowsDone : 0,
    ...(replace === true ? { replace: true } : {}),
  };
}

export function splitTableName(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot < 0
    ? { schema: 'public', table: name }
    : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}
