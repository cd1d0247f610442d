/**
 * Snapshots requested while streaming (`requestSnapshot`): tables read again chunk by chunk, each chunk in its
 * own short consistent-snapshot transaction, and released into the stream exactly where that snapshot stands in
 * the binlog.
 *
 * A chunk read in a snapshot at binlog coordinate C shows every row as of C (MariaDB reports C as
 * Binlog_snapshot_file/position; MySQL's is read under a global read lock held for that instant). The stream
 * asks at each transaction's GTID event, and at each heartbeat, whether a chunk is due: the first transaction
 * that starts at or after C gets the chunk released before it, so the chunk follows every change up to C and
 * precedes every later one, and applying the stream in order leaves each row as the source has it: no
 * watermark table, no de-duplication. While a chunk's snapshot is being opened, the stream waits for C (a few
 * milliseconds) so it cannot run past it; once the stream reaches C, it waits for the rows.
 *
 * Progress is connector state (`state.incremental`) saved with each released chunk: a restart goes on with the
 * next chunk. A request made while the connector is down, or not yet released, is lost with the process.
 */
import type { Connection } from 'mysql2/promise';
import type { Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { BinlogFlavor } from '../../../schemas/positions/gtid.ts';
import type { BinlogCoordinate } from '../replication/binlog-client.ts';
import type { SnapshotProgress } from '../../connector.ts';
import { estimateRows, readTableSchema } from '../types/catalog.ts';
import { decodeRow } from '../types/decode-value.ts';
import { openConsistentSnapshot, rawKeyValue, readChunkAsOpened } from './snapshot-reader.ts';
import { decodeKey, encodeKey, type RawKeyValue } from './snapshot-state.ts';

export interface IncrementalState {
  readonly tables: readonly string[];
  readonly tableIndex: number;
  readonly lastKey: readonly RawKeyValue[] | null;
  readonly tableRows: number;
  readonly rowsDone: number;
}

/** A chunk ready to be released into the stream, with the progress to save with it. */
export interface DueChunk {
  readonly table: TableSchema;
  readonly rows: readonly Row[];
  readonly state: Record<string, unknown>;
  /**
   * The rows are the whole table (one without a key, read in one chunk) and replace what the replica holds: a
   * truncate goes out first. Its rows cannot be told apart from copies of them, so a chunk of them inserted on
   * top of the replica's rows would double them.
   */
  readonly replacesTable: boolean;
}

interface ChunkRead {
  readonly at: Promise<BinlogCoordinate>;
  readonly result: Promise<{ chunk: DueChunk | null; next: IncrementalState }>;
}

export interface IncrementalOptions {
  readonly flavor: BinlogFlavor;
  readonly chunkRows: number;
  readonly connect: () => Promise<Connection>;
}

/** Binlog coordinates in file order (`name.000012` by its number), then by offset. */
export function compareCoordinates(a: BinlogCoordinate, b: BinlogCoordinate): -1 | 0 | 1 {
  const sequence = (file: string) => Number(file.slice(file.lastIndexOf('.') + 1));
  const fileOrder =
    a.file === b.file ? 0 : Math.sign(sequence(a.file) - sequence(b.file)) || (a.file < b.file ? -1 : 1);
  if (fileOrder !== 0) return fileOrder < 0 ? -1 : 1;
  return a.offset === b.offset ? 0 : a.offset < b.offset ? -1 : 1;
}

/** Where the stream stands: at a transaction whose GTID event ends at `at`, or idle at the binlog's end `at`. */
export interface StreamPoint {
  readonly at: BinlogCoordinate;
  readonly idle: boolean;
}

export function readIncrementalState(value: unknown): IncrementalState | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  if (!Array.isArray(record.tables)) return null;
  return {
    tables: record.tables.map(String),
    tableIndex: Number(record.tableIndex ?? 0),
    lastKey: decodeKey(record.lastKey),
    tableRows: Number(record.tableRows ?? 0),
    rowsDone: Number(record.rowsDone ?? 0),
  };
}

function writeIncrementalState(state: IncrementalState): Record<string, unknown> {
  return { ...state, lastKey: state.lastKey === null ? null : encodeKey(state.lastKey) };
}

export class IncrementalSnapshot {
  readonly #options: IncrementalOptions;
  #state: IncrementalState | null;
  #read: ChunkRead | null = null;
  /** Tables asked for while a chunk was under way: added once it is released. */
  #queued: string[] = [];
  #connection: Connection | null = null;
  #started = Date.now();
  /** Row estimate of the tables asked for (catalog statistics), taken with the first chunk. */
  #estimate: number | null = null;
  /** Progress of the last finished request, reported until another starts. */
  #finished: SnapshotProgress | null = null;

  constructor(options: IncrementalOptions, resumed: IncrementalState | null) {
    this.#options = options;
    this.#state = resumed !== null && resumed.tableIndex < resumed.tables.length ? resumed : null;
  }

  /** Adds tables to read (after those still to come); a table already waiting is not added twice. */
  add(tables: readonly string[]): void {
    if (this.#read !== null) {
      this.#queued.push(...tables);
      return;
    }
    const state = this.#state;
    if (state === null) {
      this.#state = { tables: [...tables], tableIndex: 0, lastKey: null, tableRows: 0, rowsDone: 0 };
      this.#started = Date.now();
      this.#estimate = null;
      this.#finished = null;
      return;
    }
    this.#estimate = null;
    const waiting = new Set(state.tables.slice(state.tableIndex + 1));
    this.#state = { ...state, tables: [...state.tables, ...tables.filter((t) => !waiting.has(t))] };
  }

  get active(): boolean {
    return this.#state !== null;
  }

  /** The request under way, else the last one finished in this process, else null. */
  progress(): SnapshotProgress | null {
    const state = this.#state;
    return state === null ? this.#finished : this.#progressOf(state, false);
  }

  #progressOf(state: IncrementalState, done: boolean): SnapshotProgress {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 0.001);
    return {
      table: done ? null : (state.tables[state.tableIndex] ?? null),
      tablesDone: Math.min(state.tableIndex, state.tables.length),
      tablesTotal: state.tables.length,
      rowsDone: state.rowsDone,
      rowsTotal: done ? state.rowsDone : Math.max(this.#estimate ?? 0, state.rowsDone),
      rowsPerSecond: Math.round(state.rowsDone / seconds),
      done,
    };
  }

  /**
   * The chunk to release before the transaction at `point` (or now, when idle at the binlog's end), or null.
   * Starts reading the next chunk when none is under way.
   */
  async due(point: StreamPoint): Promise<DueChunk | null> {
    if (this.#state === null) return null;
    this.#read ??= this.#startRead(this.#state);
    const read = this.#read;
    let ready: { chunk: DueChunk | null; next: IncrementalState };
    try {
      const snapshotAt = await read.at;
      // A transaction is after the snapshot when its GTID event ends past C (C lies between transactions);
      // at the binlog's end everything up to C has been streamed.
      const order = compareCoordinates(snapshotAt, point.at);
      if (point.idle ? order > 0 : order >= 0) return null;
      ready = await read.result;
    } catch (error) {
      // The stream fails with it; after a reconnect the chunk is read again.
      this.#read = null;
      throw error;
    }
    const { chunk, next } = ready;
    this.#read = null;
    this.#state = next.tableIndex < next.tables.length ? next : null;
    if (this.#state === null) this.#finished = this.#progressOf(next, true);
    const queued = this.#queued.splice(0);
    if (queued.length > 0) this.add(queued);
    return chunk;
  }

  /**
   * Drops a chunk under way and closes the connection (the stream reconnects or ends; a chunk is read again at
   * a new position).
   */
  async reset(): Promise<void> {
    const read = this.#read;
    this.#read = null;
    const queued = this.#queued.splice(0);
    if (queued.length > 0) this.add(queued);
    await read?.result.catch(() => undefined);
    await this.#connection?.end().catch(() => undefined);
    this.#connection = null;
  }

  #startRead(state: IncrementalState): ChunkRead {
    let resolveAt!: (at: BinlogCoordinate) => void;
    let rejectAt!: (error: unknown) => void;
    const at = new Promise<BinlogCoordinate>((resolve, reject) => {
      resolveAt = resolve;
      rejectAt = reject;
    });
    const result = this.#readChunk(state, resolveAt);
    // A failure before the position was known fails both; `due` awaits `at` first.
    result.catch((error: unknown) => rejectAt(error));
    at.catch(() => undefined);
    return { at, result };
  }

  async #readChunk(
    state: IncrementalState,
    opened: (at: BinlogCoordinate) => void,
  ): Promise<{ chunk: DueChunk | null; next: IncrementalState }> {
    const { flavor, chunkRows } = this.#options;
    this.#connection ??= await this.#options.connect();
    const connection = this.#connection;
    const name = state.tables[state.tableIndex]!;
    const dot = name.indexOf('.');
    this.#estimate ??= await estimateRows(connection, state.tables);
    const snapshot = await openConsistentSnapshot(connection, flavor, [name], { gtid: false });
    opened(snapshot.coordinate);
    try {
      const schema = await readTableSchema(connection, name.slice(0, dot), name.slice(dot + 1));
      // Dropped: go on with the next table. Changed while the chunk opened: read this chunk again.
      if (schema === null) return { chunk: null, next: nextTable(state) };
      // A keyless table is read whole, in this one snapshot: OFFSET chunks from several would miss or repeat rows.
      const keyless = schema.key.length === 0;
      const limit = keyless ? Number.MAX_SAFE_INTEGER : chunkRows;
      const raw = await readChunkAsOpened(connection, schema, state, snapshot.shapes.get(name), limit);
      if (raw === null) return { chunk: null, next: state };
      const rows = raw.map((row) => decodeRow(schema, row));
      const last = raw[raw.length - 1];
      const tableDone = keyless || raw.length < chunkRows;
      const next: IncrementalState = tableDone
        ? { ...nextTable(state), rowsDone: state.rowsDone + raw.length }
        : {
            ...state,
            lastKey: last === undefined ? null : schema.key.map((column) => rawKeyValue(last[column])),
            tableRows: state.tableRows + raw.length,
            rowsDone: state.rowsDone + raw.length,
          };
      return {
        chunk: { table: schema, rows, state: writeIncrementalState(next), replacesTable: keyless },
        next,
      };
    } finally {
      await connection.query('COMMIT');
    }
  }
}

function nextTable(state: IncrementalState): IncrementalState {
  return { ...state, tableIndex: state.tableIndex + 1, lastKey: null, tableRows: 0 };
}
