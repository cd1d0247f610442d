/**
 * The reading side of the watermark snapshot: for each chunk, LOW watermark, keyset read on a normal
 * connection, HIGH watermark, then wait until the stream has reached HIGH and yielded the chunk. Runs beside
 * the stream; its progress is saved with each chunk's batch, so a restart continues at the next chunk.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Row } from '../../../schemas/events/change-event.ts';
import { CdcError, isRetriable } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { Backoff, type BackoffPolicy } from '../../../common/retry.ts';
import type { SnapshotProgress } from '../../connector.ts';
import type { PgCatalog, PgTable } from '../types/catalog.ts';
import { decodeValue } from '../types/decode-value.ts';
import { RAW_TEXT_TYPES, qualifiedName, quoteIdent } from '../types/pg-sql.ts';
import { planState, splitTableName, type SnapshotPlan } from './snapshot-plan.ts';
import type { WatermarkWindows } from './watermark-windows.ts';
import { parseXidSnapshot, type XidSnapshot } from './xid-snapshot.ts';

const CHUNK_RETRY: BackoffPolicy = { initialMs: 400, maxMs: 6_400 };

export const WATERMARK_PREFIX = 'cdc.watermark';

export interface RunnerOptions {
  readonly pool: pg.Pool;
  readonly catalog: PgCatalog;
  readonly windows: WatermarkWindows;
  readonly chunkRows: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** `replace`: a re-snapshot whose chunks replace the replica's copy of each table (SnapshotPlan.replace). */
export function newPlan(tables: readonly string[], replace = false): SnapshotPlan {
  return {
    id: randomUUID(),
    tables,
    tableIndex: 0,
    lastKey: null,
    rowsDone: 0,
    ...(replace ? { replace: true } : {}),
  };
}

export class SnapshotRunner {
  readonly #options: RunnerOptions;
  #plan: SnapshotPlan;
  #rowsTotal = 0;
  #startedAt = Date.now();
  #rowsThisRun = 0;
  #done = false;
  #chunkSeq = 0;
  /**
   * Part of every chunk id: a resumed plan keeps its id and numbers chunks from 0 again, so without it a
   * watermark of the previous process, replayed from the slot after a restart, could close a new chunk early.
   */
  readonly #runId = randomUUID().slice(0, 8);

  constructor(options: RunnerOptions, plan: SnapshotPlan) {
    this.#options = options;
    this.#plan = plan;
  }

  /** Whether this is a re-snapshot replacing the replica's copy of each table (SnapshotPlan.replace). */
  get replacing(): boolean {
    return this.#plan.replace === true;
  }

  /** Adds tables to the running snapshot (tables still pending are not read twice). */
  add(tables: readonly string[]): void {
    const pending = new Set(this.#plan.tables.slice(this.#plan.tableIndex));
    const extra = tables.filter((table) => !pending.has(table));
    if (extra.length > 0) this.#plan = { ...this.#plan, tables: [...this.#plan.tables, ...extra] };
  }

  get done(): boolean {
    return this.#done;
  }

  progress(): SnapshotProgress {
    const plan = this.#plan;
    const seconds = (Date.now() - this.#startedAt) / 1000;
    return {
      table: this.#done ? null : (plan.tables[plan.tableIndex] ?? null),
      tablesDone: Math.min(plan.tableIndex, plan.tables.length),
      tablesTotal: plan.tables.length,
      rowsDone: plan.rowsDone,
      rowsTotal: Math.max(this.#rowsTotal, plan.rowsDone),
      rowsPerSecond: seconds > 0 ? Math.round(this.#rowsThisRun / seconds) : 0,
      done: this.#done,
    };
  }

  async run(): Promise<void> {
    this.#options.windows.remember(true);
    this.#rowsTotal = await this.#estimateRows(this.#plan.tables);
    const backoff = new Backoff(CHUNK_RETRY);
    while (this.#plan.tableIndex < this.#plan.tables.length) {
      if (this.#options.signal.aborted) return;
      try {
        await this.#readChunk();
        backoff.reset();
      } catch (error) {
        if (this.#options.signal.aborted) return;
        // A few quick retries; a failure that persists goes up to the stream's reconnect loop.
        if (!isRetriable(error) || backoff.attempts >= 5) throw error;
        const wait = backoff.next();
        this.#options.logger.warn(
          { err: error, attempt: backoff.attempts, waitMs: wait },
          'snapshot chunk failed; retrying',
        );
        await Backoff.sleep(wait, this.#options.signal);
      }
    }
    this.#options.windows.remember(false);
    this.#done = true;
  }

  async #readChunk(): Promise<void> {
    const plan = this.#plan;
    const name = plan.tables[plan.tableIndex];
    if (name === undefined) return;
    const { schema, table } = splitTableName(name);
    const { catalog, windows, pool } = this.#options;
    const pgTable = await catalog.load(await catalog.oidOf(schema, table));
    const id = `${plan.id}.${this.#runId}.${this.#chunkSeq++}`;
    // A re-snapshot truncates the table's replica copy with its first chunk; a restart mid-table does not again.
    const outcome = windows.prepare(id, pgTable, plan.replace === true && plan.lastKey === null);
    try {
      await emitWatermark(pool, id, 'low');
      const { rows, lastKey, last, snapshot } = await this.#select(pgTable, plan.lastKey);
      const next: SnapshotPlan = last
        ? { ...plan, tableIndex: plan.tableIndex + 1, lastKey: null }
        : { ...plan, lastKey };
      windows.setRows(id, {
        rows,
        snapshot,
        state: planState(next.tableIndex >= next.tables.length ? null : next),
      });
      await emitWatermark(pool, id, 'high');
      const result = await waitOrAbort(outcome, this.#options.signal);
      if (result === null) return;
      if (result.kind === 'retry') {
        this.#options.logger.info(
          { table: name },
          'snapshot chunk changed during its window in a way the fold cannot match; reading it again',
        );
        return;
      }
      this.#rowsThisRun += result.rows.length;
      // Tables appended while this chunk was read are kept.
      this.#plan = { ...next, tables: this.#plan.tables, rowsDone: plan.rowsDone + result.rows.length };
    } catch (error) {
      windows.abandon(id);
      throw error;
    }
  }

  /**
   * Reads the next chunk by keyset. A table without a key cannot be read by keyset: it is read in one chunk,
   * which holds the whole table in memory and replaces the replica's copy (keyless-fold.ts).
   */
  async #select(
    table: PgTable,
    after: readonly string[] | null,
  ): Promise<{ rows: Row[]; lastKey: string[] | null; last: boolean; snapshot: XidSnapshot }> {
    const schema = table.schema;
    const columns = schema.columns.map((column) => quoteIdent(column.name)).join(', ');
    const from = qualifiedName(schema.schema, schema.table);
    const keyColumns = schema.key.map((key) => {
      const column = schema.columns.find((candidate) => candidate.name === key);
      if (!column)
        throw new CdcError('INTERNAL', `key column ${key} missing from ${schema.schema}.${schema.table}`, {});
      return column;
    });
    let text: string;
    let values: string[] = [];
    if (keyColumns.length === 0) {
      text = `SELECT ${columns} FROM ${from}`;
    } else {
      const keyList = keyColumns.map((column) => quoteIdent(column.name)).join(', ');
      const where = after
        ? `WHERE (${keyList}) > (${keyColumns.map((column, i) => `$${i + 1}::${column.sourceType}`).join(', ')})`
        : '';
      text = `SELECT ${columns} FROM ${from} ${where} ORDER BY ${keyList} LIMIT ${Math.max(1, Math.floor(this.#options.chunkRows))}`;
      values = after ? [...after] : [];
    }
    const { result, snapshot } = await this.#readInSnapshot(text, values);
    const rows = result.rows.map((raw) => {
      const row: Record<string, ReturnType<typeof decodeValue>> = {};
      for (const column of schema.columns)
        row[column.name] = decodeValue(column.type, raw[column.name] ?? null);
      return row;
    });
    const lastRaw = result.rows.at(-1);
    const last = keyColumns.length === 0 || result.rows.length < this.#options.chunkRows;
    const lastKey = lastRaw
      ? keyColumns.map((column) => lastRaw[column.name] ?? '')
      : after
        ? [...after]
        : null;
    return { rows, lastKey, last, snapshot };
  }

  /** Runs the chunk query in one snapshot and reports that snapshot, so the stream knows what the rows include. */
  async #readInSnapshot(
    text: string,
    values: string[],
  ): Promise<{ result: pg.QueryResult<Record<string, string | null>>; snapshot: XidSnapshot }> {
    const client = await this.#options.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = await client.query<{ snapshot: string }>(
        'SELECT pg_current_snapshot()::text AS snapshot',
      );
      const result = await client.query<Record<string, string | null>>({
        text,
        values,
        types: RAW_TEXT_TYPES,
      });
      await client.query('COMMIT');
      return { result, snapshot: parseXidSnapshot(snapshot.rows[0]?.snapshot ?? '') };
    } catch (error) {
      await client
        .query('ROLLBACK')
        .catch((rollbackError: unknown) =>
          this.#options.logger.warn({ err: rollbackError }, 'rollback after a failed chunk read failed'),
        );
      throw error;
    } finally {
      client.release();
    }
  }

  async #estimateRows(tables: readonly string[]): Promise<number> {
    let total = 0;
    for (const name of tables) {
      const { schema, table } = splitTableName(name);
      const result = await this.#options.pool.query<{ estimate: number }>(
        `SELECT GREATEST(c.reltuples, 0)::float8 AS estimate FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, table],
      );
      total += result.rows[0]?.estimate ?? 0;
    }
    return Math.round(total);
  }
}

/**
 * Writes a watermark into the WAL. A non-transactional message is not flushed by itself, and the walsender sends
 * only flushed WAL: a HIGH watermark would reach the stream only when the WAL writer next flushes (every
 * `wal_writer_delay`, 200 ms by default), and the chunk's reader waits for it, so every chunk cost that wait.
 * The HIGH watermark is therefore written in a transaction given an id (`txid_current()`), whose commit flushes
 * the WAL up to and past the message; `synchronous_commit = local` so that commit does not also wait for a
 * synchronous standby (this capture itself may be one). The transaction changes nothing, and pgoutput sends no
 * empty transaction. One round trip: the statements go out as one simple query. Returns where the message's
 * record ends.
 */
export async function emitWatermark(pool: pg.Pool, id: string, kind: 'low' | 'high'): Promise<string> {
  const content = JSON.stringify({ id, kind });
  if (kind === 'low') {
    const low = await pool.query<{ lsn: string }>(
      `SELECT pg_logical_emit_message(false, $1, $2)::text AS lsn`,
      [WATERMARK_PREFIX, content],
    );
    return low.rows[0]?.lsn ?? '';
  }
  const client = await pool.connect();
  try {
    const results = (await client.query(
      `BEGIN; SET LOCAL synchronous_commit = local; SELECT pg_logical_emit_message(false, ${client.escapeLiteral(WATERMARK_PREFIX)}, ${client.escapeLiteral(content)})::text AS lsn, txid_current(); COMMIT`,
    )) as unknown as pg.QueryResult<{ lsn: string }>[];
    return results[2]?.rows[0]?.lsn ?? '';
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function parseWatermark(content: Uint8Array): { id: string; kind: 'low' | 'high' } | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(content).toString('utf8'));
  } catch {
    // Not JSON: some other writer's message under our prefix, so not a watermark of ours.
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { id, kind } = value as { id?: unknown; kind?: unknown };
  if (typeof id !== 'string' || (kind !== 'low' && kind !== 'high')) return null;
  return { id, kind };
}

function waitOrAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
