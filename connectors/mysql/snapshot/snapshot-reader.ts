/**
 * The initial snapshot: every captured table read inside one consistent-snapshot transaction, in keyset
 * chunks, each chunk a batch of `r` events with its progress as state. The GTID position of that snapshot is
 * where streaming starts, so the hand-over has no gap and no duplicate.
 *
 * MariaDB reports the binlog coordinate of a consistent snapshot (Binlog_snapshot_file/position) and
 * BINLOG_GTID_POS() turns it into a GTID position. MySQL has no such status, so there a global read lock is
 * held for the instant between opening the snapshot and reading @@gtid_executed (needs RELOAD).
 *
 * A snapshot resumed after a restart reads its remaining chunks from a new consistent snapshot but still
 * streams from the first snapshot's position; the stream then drops the changes the later snapshot already
 * holds (snapshot-overlap.ts).
 *
 * Schema changes: a consistent read of a table altered after the snapshot opened returns the new shape (MariaDB
 * fills added columns with their defaults), while the stream replays that table's older changes, in the old
 * shape, after it: a replica would drop the new column and add it back empty. So each table's shape is compared
 * with its shape when the snapshot opened; on a difference the snapshot is reopened at a newer position from
 * that table on (a restart point, like a resumed snapshot), and a table already partly published is read again
 * from its start after a snapshot truncate event.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { BinlogCommitPosition } from '../../../schemas/positions/position.ts';
import type { BinlogFlavor } from '../../../schemas/positions/gtid.ts';
import type { CaptureBatch } from '../../connector.ts';
import { CdcError } from '../../../common/errors.ts';
import { decodeRow, scalarText } from '../types/decode-value.ts';
import { quoteIdent, readTableSchema } from '../types/catalog.ts';
import type { BinlogCoordinate } from '../replication/binlog-client.ts';
import type { Logger } from '../../../common/logger.ts';
import { keylessCutShort, resumeAt } from './snapshot-overlap.ts';
import { writeSnapshotState, type RawKeyValue, type SnapshotState } from './snapshot-state.ts';

/** A consistent snapshot: the GTID position it sees, its binlog coordinate and each table's shape then. */
export interface OpenSnapshot {
  /** Formatted GTID position; empty when not asked for (it costs a binlog scan on MariaDB). */
  readonly at: string;
  readonly coordinate: BinlogCoordinate;
  readonly shapes: ReadonlyMap<string, string>;
}

/** ER_TABLE_DEF_CHANGED: a table rebuilt after the consistent snapshot opened cannot be read in it. */
const TABLE_DEFINITION_CHANGED = 1412;
const OPEN_ATTEMPTS = 10;

export interface SnapshotContext {
  readonly connectorName: string;
  readonly flavor: BinlogFlavor;
  readonly chunkRows: number;
  /** Reports rows read, for status(). */
  readonly onProgress: (state: SnapshotState, table: string, rowsPerChunk: number) => void;
  /** Ends the current consistent snapshot and opens a newer one on the same connection. */
  readonly reopen: () => Promise<OpenSnapshot>;
}

/**
 * Each existing table's shape as one text: columns in order with type, nullability, primary-key membership,
 * default and collation (what a consistent read or a replica would see differently after DDL).
 */
export async function tableShapes(
  connection: Connection,
  tables: readonly string[],
): Promise<Map<string, string>> {
  if (tables.length === 0) return new Map();
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name,
            GROUP_CONCAT(CONCAT_WS(':', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IF(COLUMN_KEY = 'PRI', 'PK', ''),
                                   IFNULL(COLUMN_DEFAULT, '~'), IFNULL(COLLATION_NAME, ''))
                         ORDER BY ORDINAL_POSITION SEPARATOR '\n') AS shape
       FROM information_schema.COLUMNS
      WHERE CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) IN (?)
      GROUP BY TABLE_SCHEMA, TABLE_NAME`,
    [tables],
  );
  return new Map(rows.map((row) => [scalarText(row.name), scalarText(row.shape)]));
}

function sameShapes(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([name, shape]) => b.get(name) === shape);
}

/**
 * Opens a consistent snapshot on `connection`: its GTID position (unless `gtid` is false), binlog coordinate and
 * the tables' shapes at that point. Shapes read just before and just after opening must agree, otherwise DDL
 * raced the opening and it is tried again.
 */
export async function openConsistentSnapshot(
  connection: Connection,
  flavor: BinlogFlavor,
  tables: readonly string[],
  { gtid = true }: { readonly gtid?: boolean } = {},
): Promise<OpenSnapshot> {
  for (let attempt = 1; ; attempt++) {
    const before = await tableShapes(connection, tables);
    const { at, coordinate } = await openAt(connection, flavor, gtid);
    const shapes = await tableShapes(connection, tables);
    if (sameShapes(before, shapes)) return { at, coordinate, shapes };
    await connection.query('ROLLBACK');
    if (attempt >= OPEN_ATTEMPTS)
      throw new CdcError(
        'SOURCE_TABLE_UNSUPPORTED',
        `tables kept changing shape while the snapshot opened (${OPEN_ATTEMPTS} attempts)`,
        {},
      );
  }
}

function notConfigured(): CdcError {
  return new CdcError(
    'SOURCE_NOT_CONFIGURED',
    'the server did not report the binlog position of the consistent snapshot (is the binlog enabled?)',
    {},
  );
}

/** Opens a consistent snapshot on `connection`; returns its binlog coordinate and, if asked, GTID position. */
async function openAt(
  connection: Connection,
  flavor: BinlogFlavor,
  gtid: boolean,
): Promise<{ at: string; coordinate: BinlogCoordinate }> {
  await connection.query("SET SESSION time_zone = '+00:00'");
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  if (flavor === 'mariadb') {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [status] = await connection.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
    const value = (name: string): string =>
      String(status.find((row) => String(row.Variable_name).toLowerCase() === name)?.Value ?? '');
    const coordinate = {
      file: value('binlog_snapshot_file'),
      offset: Number(value('binlog_snapshot_position')),
    };
    if (coordinate.file === '') throw notConfigured();
    if (!gtid) return { at: '', coordinate };
    const [rows] = await connection.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS pos', [
      coordinate.file,
      coordinate.offset,
    ]);
    const pos: unknown = rows[0]?.pos;
    if (pos === null || pos === undefined) throw notConfigured();
    return { at: scalarText(pos), coordinate };
  }
  // MySQL reports no snapshot coordinate: both are read under a global read lock held for that instant.
  await connection.query('FLUSH TABLES WITH READ LOCK');
  try {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_executed AS pos');
    // MySQL 8.2 renamed SHOW MASTER STATUS (gone in 8.4); older servers know only the old name.
    const [master] = await connection
      .query<RowDataPacket[]>('SHOW BINARY LOG STATUS')
      .catch(() => connection.query<RowDataPacket[]>('SHOW MASTER STATUS'));
    const coordinate = { file: String(master[0]?.File ?? ''), offset: Number(master[0]?.Position ?? 0) };
    if (coordinate.file === '') throw notConfigured();
    return { at: String(rows[0]?.pos ?? ''), coordinate };
  } finally {
    await connection.query('UNLOCK TABLES');
  }
}

function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Where a table's keyset read goes on: after `lastKey`, or at row `tableRows` of a keyless table. */
export interface ChunkStart {
  readonly lastKey: readonly RawKeyValue[] | null;
  readonly tableRows: number;
}

/** The next chunk of `schema`'s table in key order, inside the connection's current transaction. */
export async function readChunk(
  connection: Connection,
  schema: TableSchema,
  state: ChunkStart,
  limit: number,
): Promise<RowDataPacket[]> {
  const table = `${quoteIdent(schema.database)}.${quoteIdent(schema.table)}`;
  const columns = schema.columns.map((c) => quoteIdent(c.name)).join(', ');
  if (schema.key.length === 0) {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT ${columns} FROM ${table} LIMIT ? OFFSET ?`,
      [limit, state.tableRows],
    );
    return rows;
  }
  const key = schema.key.map(quoteIdent).join(', ');
  if (state.lastKey === null) {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT ${columns} FROM ${table} ORDER BY ${key} LIMIT ?`,
      [limit],
    );
    return rows;
  }
  const placeholders = schema.key.map(() => '?').join(', ');
  const params = state.lastKey.map((value) => (value instanceof Uint8Array ? Buffer.from(value) : value));
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT ${columns} FROM ${table} WHERE (${key}) > (${placeholders}) ORDER BY ${key} LIMIT ?`,
    [...params, limit],
  );
  return rows;
}

export function rawKeyValue(value: unknown): RawKeyValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array || typeof value === 'number' || typeof value === 'string') return value;
  return scalarText(value);
}

function isDefinitionChanged(error: unknown): boolean {
  return (error as { errno?: unknown } | null)?.errno === TABLE_DEFINITION_CHANGED;
}

/**
 * The rows of one chunk, or null when the table's shape is no longer `expected` (DDL since the snapshot
 * opened, or a table rebuilt so that the snapshot cannot read it).
 */
export async function readChunkAsOpened(
  connection: Connection,
  schema: TableSchema,
  state: ChunkStart,
  expected: string | null | undefined,
  limit: number,
): Promise<RowDataPacket[] | null> {
  const name = `${schema.database}.${schema.table}`;
  const shape = (await tableShapes(connection, [name])).get(name);
  if (shape !== expected) return null;
  try {
    return await readChunk(connection, schema, state, limit);
  } catch (error) {
    if (isDefinitionChanged(error)) return null;
    throw error;
  }
}

/**
 * Yields the snapshot's remaining chunks read in `open`; the last batch carries `done: true` in its state. A
 * table found changed reopens the snapshot (context.reopen) from that table on.
 */
export async function* readSnapshot(
  connection: Connection,
  start: SnapshotState,
  first: OpenSnapshot,
  context: SnapshotContext,
  signal: AbortSignal,
  clearFirst = false,
): AsyncGenerator<CaptureBatch> {
  let state = start;
  let open = first;
  const commit: BinlogCommitPosition = {
    kind: 'binlog',
    flavor: context.flavor,
    gtidSet: state.from,
    seq: BigInt(state.seq),
  };
  const source = (index: number) => ({
    connector: context.connectorName,
    position: { commit, index },
    txId: null,
    commitTimeMicros: BigInt(Date.now()) * 1000n,
    origin: null,
    snapshot: true,
  });
  // Rows published of a table about to be read again from its start go first: a truncate clears them.
  const truncate = (table: TableSchema): CaptureBatch => {
    const event: ChangeEvent = {
      op: 't',
      before: null,
      after: null,
      table,
      source: source(state.eventIndex),
      transaction: null,
    };
    state = { ...state, eventIndex: state.eventIndex + 1 };
    return { events: [event], commit, state: { snapshot: writeSnapshotState(state) } };
  };
  if (clearFirst && state.tableIndex < state.tables.length) {
    const [database, tableName] = splitName(state.tables[state.tableIndex]!);
    const schema = await readTableSchema(connection, database, tableName);
    if (schema !== null) yield truncate(schema);
  }
  // The table being read and its definition, once a chunk of it was read in the current snapshot: from then on
  // the transaction holds the table's metadata lock, so no DDL can change it before the snapshot ends.
  let reading: TableSchema | null = null;
  while (state.tableIndex < state.tables.length) {
    if (signal.aborted) return;
    const name = state.tables[state.tableIndex]!;
    const fresh = state.lastKey === null && state.tableRows === 0;
    // A table read in part before a restart must still have the shape its first chunks had.
    const expected = fresh ? open.shapes.get(name) : state.shape;
    let schema: TableSchema | null = reading;
    let rows: RowDataPacket[] | null;
    if (schema !== null) {
      rows = await readChunk(connection, schema, state, context.chunkRows);
    } else {
      const [database, tableName] = splitName(name);
      schema = await readTableSchema(connection, database, tableName);
      if (schema === null) {
        state = { ...state, tableIndex: state.tableIndex + 1, lastKey: null, tableRows: 0, shape: null };
        continue;
      }
      rows = await readChunkAsOpened(connection, schema, state, expected, context.chunkRows);
    }
    if (rows === null) {
      open = await context.reopen();
      const restart = { at: open.at, tableIndex: state.tableIndex, lastKey: null };
      state = { ...state, lastKey: null, tableRows: 0, shape: null, resumes: [...state.resumes, restart] };
      if (fresh) continue;
      // Rows of the old shape were published: a truncate clears them before the table is read again.
      yield truncate(schema);
      continue;
    }
    const table: TableSchema = schema;
    const events: ChangeEvent[] = rows.map((raw, i) => ({
      op: 'r',
      before: null,
      after: decodeRow(table, raw),
      table,
      source: source(state.eventIndex + i),
      transaction: null,
    }));
    const last = rows[rows.length - 1];
    const tableDone = rows.length < context.chunkRows;
    reading = tableDone ? null : table;
    state = {
      ...state,
      eventIndex: state.eventIndex + rows.length,
      tableRows: tableDone ? 0 : state.tableRows + rows.length,
      lastKey:
        tableDone || last === undefined || schema.key.length === 0
          ? null
          : schema.key.map((column) => rawKeyValue(last[column])),
      tableIndex: tableDone ? state.tableIndex + 1 : state.tableIndex,
      shape: tableDone ? null : (expected ?? null),
    };
    if (state.tableIndex >= state.tables.length) state = { ...state, done: true };
    context.onProgress(state, name, rows.length);
    if (events.length > 0 || state.done)
      yield { events, commit, state: { snapshot: writeSnapshotState(state) } };
  }
  if (!state.done) {
    state = { ...state, done: true };
    yield { events: [], commit, state: { snapshot: writeSnapshotState(state) } };
  }
}

/**
 * Takes the snapshot from `start` on `connection`: opens the consistent snapshot (a snapshot begun before a
 * restart keeps its first position and gets a restart point here), yields its chunks, reopening it when a table
 * changed shape, and commits at the end.
 */
export async function* takeSnapshot(
  connection: Connection,
  start: SnapshotState,
  context: Omit<SnapshotContext, 'reopen'> & { readonly logger: Logger },
  signal: AbortSignal,
): AsyncGenerator<CaptureBatch> {
  const { flavor, logger } = context;
  const opened = await openConsistentSnapshot(connection, flavor, start.tables);
  // Streaming must start where the first chunks were read; what is read from here on is as of `opened.at`, and
  // the stream drops the changes in between for those rows.
  // A keyless table cut short is read again whole from here, after a truncate of what was published of it.
  const clearFirst = start.from !== '' && keylessCutShort(start);
  const state =
    start.from === ''
      ? { ...start, from: opened.at }
      : {
          ...start,
          ...(clearFirst ? { tableRows: 0, shape: null } : {}),
          resumes: [...start.resumes, resumeAt(start, opened.at)],
        };
  logger.info({ from: state.from, tables: state.tables.length }, 'snapshot started');
  const reopen = async (): Promise<OpenSnapshot> => {
    await connection.query('COMMIT');
    const reopened = await openConsistentSnapshot(connection, flavor, state.tables);
    logger.info({ at: reopened.at }, 'a table changed shape during the snapshot; reopened it');
    return reopened;
  };
  yield* readSnapshot(connection, state, opened, { ...context, reopen }, signal, clearFirst);
  await connection.query('COMMIT');
}
