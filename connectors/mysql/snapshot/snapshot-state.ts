/**
 * Snapshot progress as JSON-safe connector state, saved with each published chunk so a restarted connector
 * continues with the next chunk. Keyset values keep their exact driver form (bytes as hex, numbers as text).
 */
export type RawKeyValue = string | number | Uint8Array | null;

export interface SnapshotState {
  /** GTID position the snapshot was read at (formatted); streaming starts there. */
  readonly from: string;
  /** Commit ordinal of every snapshot event. */
  readonly seq: string;
  readonly tables: readonly string[];
  /** Index in `tables` of the table being read. */
  readonly tableIndex: number;
  /** Key of the last row read in that table (keyset), null before its first chunk. */
  readonly lastKey: readonly RawKeyValue[] | null;
  /** Rows read from that table (the offset for tables without a primary key). */
  readonly tableRows: number;
  /** Snapshot events yielded so far: the index of the next one. */
  readonly eventIndex: number;
  /** Shape (tableShapes) of the table being read, as when its first chunk was read; null before. */
  readonly shape: string | null;
  readonly done: boolean;
  /**
   * One entry per restart in the middle of the snapshot: the rest of the tables (from `tableIndex`, after
   * `lastKey` in that table) was read from a newer consistent snapshot at `at`. Streaming still starts at
   * `from`, so changes in (from, at] to those rows are already in the snapshot and are dropped
   * (snapshot-overlap.ts).
   */
  readonly resumes: readonly SnapshotResume[];
}

export interface SnapshotResume {
  /** GTID position (formatted) of the consistent snapshot the rows after this point were read at. */
  readonly at: string;
  readonly tableIndex: number;
  readonly lastKey: readonly RawKeyValue[] | null;
}

type EncodedKeyValue = string | number | null | { readonly hex: string };

export function encodeKey(key: readonly RawKeyValue[]): EncodedKeyValue[] {
  return key.map((value) =>
    value instanceof Uint8Array ? { hex: Buffer.from(value).toString('hex') } : value,
  );
}

export function decodeKey(encoded: unknown): RawKeyValue[] | null {
  if (!Array.isArray(encoded)) return null;
  return encoded.map((value: unknown): RawKeyValue => {
    if (typeof value === 'string' || typeof value === 'number' || value === null) return value;
    if (typeof value === 'object' && 'hex' in value && typeof value.hex === 'string')
      return new Uint8Array(Buffer.from(value.hex, 'hex'));
    return null;
  });
}

/** The state of a snapshot not begun: the table list is fixed now; `from` is set when the snapshot opens. */
export function freshSnapshotState(tables: readonly string[]): SnapshotState {
  return {
    from: '',
    seq: '0',
    tables,
    tableIndex: 0,
    lastKey: null,
    tableRows: 0,
    eventIndex: 0,
    shape: null,
    done: false,
    resumes: [],
  };
}

/** Reads a snapshot state saved earlier; null when absent or not of this shape. */
export function readSnapshotState(value: unknown): SnapshotState | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.from !== 'string' || typeof record.seq !== 'string' || !Array.isArray(record.tables))
    return null;
  return {
    from: record.from,
    seq: record.seq,
    tables: record.tables.map(String),
    tableIndex: Number(record.tableIndex ?? 0),
    lastKey: decodeKey(record.lastKey),
    tableRows: Number(record.tableRows ?? 0),
    eventIndex: Number(record.eventIndex ?? 0),
    shape: typeof record.shape === 'string' ? record.shape : null,
    done: record.done === true,
    resumes: Array.isArray(record.resumes) ? record.resumes.flatMap(readResume) : [],
  };
}

function readResume(value: unknown): SnapshotResume[] {
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  if (typeof record.at !== 'string' || typeof record.tableIndex !== 'number') return [];
  return [{ at: record.at, tableIndex: record.tableIndex, lastKey: decodeKey(record.lastKey) }];
}

export function writeSnapshotState(state: SnapshotState): Record<string, unknown> {
  const key = (lastKey: readonly RawKeyValue[] | null) => (lastKey === null ? null : encodeKey(lastKey));
  return {
    ...state,
    lastKey: key(state.lastKey),
    resumes: state.resumes.map((resume) => ({ ...resume, lastKey: key(resume.lastKey) })),
  };
}
