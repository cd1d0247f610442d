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
 * streams from the first snapshot's position: rows of later chunks may then pass through older states while
 * the stream catches up, and end equal to the source.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { BinlogCommitPosition } from '../../../schemas/positions/position.ts';
import type { BinlogFlavor } from '../../../schemas/positions/gtid.ts';
import type { CaptureBatch } from '../../connector.ts';
import { CdcError } from '../../../services/common/errors.ts';
import { decodeValue, scalarText } from '../types/decode-value.ts';
import { quoteIdent, readTableSchema } from '../types/catalog.ts';
import { writeSnapshotState, type RawKeyValue, type SnapshotState } from './snapshot-state.ts';

export interface SnapshotContext {
  readonly connectorName: string;
  readonly flavor: BinlogFlavor;
  readonly chunkRows: number;
  /** Reports rows read, for status(). */
  readonly onProgress: (state: SnapshotState, table: string, rowsPerChunk: number) => void;
}

/** Opens a consistent snapshot on `connection` and returns the GTID position it sees. */
export async function openConsistentSnapshot(connection: Connection, flavor: BinlogFlavor): Promise<string> {
  await connection.query("SET SESSION time_zone = '+00:00'");
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  if (flavor === 'mariadb') {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [status] = await connection.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
    const value = (name: string): string =>
      String(status.find((row) => String(row.Variable_name).toLowerCase() === name)?.Value ?? '');
    const [rows] = await connection.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS pos', [
      value('binlog_snapshot_file'),
      Number(value('binlog_snapshot_position')),
    ]);
    const pos: unknown = rows[0]?.pos;
    if (pos === null || pos === undefined) {
      throw new CdcError(
        'SOURCE_NOT_CONFIGURED',
        'the server did not report the binlog position of the consistent snapshot (is the binlog enabled?)',
        {},
      );
    }
    return scalarText(pos);
  }
  await connection.query('FLUSH TABLES WITH READ LOCK');
  try {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_executed AS pos');
    return String(rows[0]?.pos ?? '');
  } finally {
    await connection.query('UNLOCK TABLES');
  }
}

function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

async function readChunk(
  connection: Connection,
  schema: TableSchema,
  state: SnapshotState,
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

function rawKeyValue(value: unknown): RawKeyValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array || typeof value === 'number' || typeof value === 'string') return value;
  return scalarText(value);
}

/** Yields the snapshot's remaining chunks; the last batch carries `done: true` in its state. */
export async function* readSnapshot(
  connection: Connection,
  start: SnapshotState,
  context: SnapshotContext,
  signal: AbortSignal,
): AsyncGenerator<CaptureBatch> {
  let state = start;
  const commit: BinlogCommitPosition = {
    kind: 'binlog',
    flavor: context.flavor,
    gtidSet: state.from,
    seq: BigInt(state.seq),
  };
  while (state.tableIndex < state.tables.length) {
    if (signal.aborted) return;
    const name = state.tables[state.tableIndex]!;
    const [database, tableName] = splitName(name);
    const schema = await readTableSchema(connection, database, tableName);
    if (schema === null) {
      state = { ...state, tableIndex: state.tableIndex + 1, lastKey: null, tableRows: 0 };
      continue;
    }
    const rows = await readChunk(connection, schema, state, context.chunkRows);
    const events: ChangeEvent[] = rows.map((raw, i) => {
      const after: Row = Object.fromEntries(
        schema.columns.map((column) => [column.name, decodeValue(column, raw[column.name])]),
      );
      return {
        op: 'r',
        before: null,
        after,
        table: schema,
        source: {
          connector: context.connectorName,
          position: { commit, index: state.eventIndex + i },
          txId: null,
          commitTimeMicros: BigInt(Date.now()) * 1000n,
          origin: null,
          snapshot: true,
        },
        transaction: null,
      };
    });
    const last = rows[rows.length - 1];
    const tableDone = rows.length < context.chunkRows;
    state = {
      ...state,
      eventIndex: state.eventIndex + rows.length,
      tableRows: tableDone ? 0 : state.tableRows + rows.length,
      lastKey: tableDone || last === undefined ? null : schema.key.map((column) => rawKeyValue(last[column])),
      tableIndex: tableDone ? state.tableIndex + 1 : state.tableIndex,
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
