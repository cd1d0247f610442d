/**
 * Turns binlog messages into change-event batches in commit (GTID) order, one source transaction at a time.
 *
 * A transaction is held whole up to `maxTransactionEvents` and then released as one batch whose `commit` is
 * set, with `transaction.total` known on every event. A larger one is released in pieces (`commit: null`);
 * `total` is then set only on its last event, and the state records where it began so a restart in the middle
 * restreams it from its start and skips what was already published.
 *
 * Every released commit gets the next `seq` (a per-stream counter carried in the positions themselves, so it
 * survives restarts without extra storage), and its `gtidSet` is the GTID position after the transaction.
 * Transactions touching no captured table only move the position; it is released as an empty heartbeat batch
 * at most every `heartbeatIntervalMs`.
 *
 * Origin: null when the transaction was written by the source server itself (its binlog server id equals the
 * server's @@server_id), otherwise the writing server's id as text. An apply worker writing to a MySQL/MariaDB
 * replica with its own session server_id (or GTID domain) is thereby seen as not local, which is what a mesh of
 * primaries needs to forward only local changes.
 */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { BinlogCommitPosition } from '../../../schemas/positions/position.ts';
import {
  advanceGtidPosition,
  formatGtidPosition,
  parseGtid,
  type BinlogFlavor,
  type Gtid,
  type GtidPosition,
} from '../../../schemas/positions/gtid.ts';
import type { Logger } from '../../../common/logger.ts';
import type { CaptureBatch } from '../../connector.ts';
import { decodeRow } from '../types/decode-value.ts';
import type { SchemaCache } from '../types/schema-cache.ts';
import type { KeyOrder } from '../types/key-order.ts';
import type { SnapshotOverlap } from '../snapshot/snapshot-overlap.ts';
import type { IncrementalSnapshot } from '../snapshot/incremental.ts';
import { tableMatches, type TablePattern } from '../types/catalog.ts';
import type { BinlogCoordinate, BinlogMessage, RawRow } from './binlog-client.ts';
import { parseDdl } from './ddl.ts';

export interface StreamStart {
  /** GTID position to stream after. */
  readonly from: GtidPosition;
  /** seq of the last released commit; the next gets seq + 1. */
  readonly seq: bigint;
  /** Events of the transaction with this seq up to this index were already published (restart mid-transaction). */
  readonly skip: { readonly seq: bigint; readonly index: number } | null;
}

/** Progress the connector keeps to restart the stream where the consumer stands. */
export interface StreamProgress {
  /** Position after the last released whole transaction. */
  readonly position: GtidPosition;
  readonly seq: bigint;
  /** Set while a large transaction is released in pieces: where it began and how far it went. */
  readonly pending: { readonly from: GtidPosition; readonly seq: bigint; readonly index: number } | null;
  readonly lastCommitMillis: number | null;
}

export interface StreamContext {
  readonly connectorName: string;
  readonly flavor: BinlogFlavor;
  /**
   * Server ids of the source's own servers (the server read, and every candidate of its replication group seen
   * so far): their transactions are local (origin null); another id is the origin a writer marked its session
   * with. Live: the connector adds a server when it first reaches it.
   */
  readonly localServerIds: ReadonlySet<number>;
  readonly patterns: readonly TablePattern[];
  readonly maxTransactionEvents: number;
  readonly heartbeatIntervalMs: number;
  readonly schemas: SchemaCache;
  /** Changes a restarted snapshot already read (dropped), with the server's key order to place rows. */
  readonly overlap: { readonly changes: SnapshotOverlap; readonly order: KeyOrder } | null;
  /** Tables asked to be snapshotted while streaming: chunks released between transactions. */
  readonly incremental: IncrementalSnapshot | null;
  readonly logger: Logger;
  readonly onProgress: (progress: StreamProgress) => void;
}

type Draft =
  | { readonly op: 'c'; readonly table: TableSchema; readonly after: Row }
  | { readonly op: 'u'; readonly table: TableSchema; readonly before: Row; readonly after: Row }
  | { readonly op: 'd'; readonly table: TableSchema; readonly before: Row }
  | { readonly op: 't'; readonly table: TableSchema };

interface OpenTransaction {
  readonly gtid: string;
  /** Whether a restarted snapshot may already hold some of its changes. */
  readonly inOverlap: Gtid | null;
  /** Whether it truncated a table inside that overlap (the connector state then records it). */
  truncatedInOverlap: boolean;
  readonly serverId: number;
  readonly timestampMs: number;
  standalone: boolean;
  sawBegin: boolean;
  readonly from: GtidPosition;
  readonly after: GtidPosition;
  readonly seq: bigint;
  drafts: Draft[];
  /** Events already released in earlier pieces (or skipped because published before a restart). */
  released: number;
}

function sameKey(table: TableSchema, a: Row, b: Row): boolean {
  return table.key.every((column) => {
    const x = a[column];
    const y = b[column];
    return x instanceof Uint8Array && y instanceof Uint8Array ? Buffer.from(x).equals(y) : x === y;
  });
}

export async function* streamTransactions(
  messages: AsyncIterable<BinlogMessage>,
  start: StreamStart,
  context: StreamContext,
): AsyncGenerator<CaptureBatch> {
  let position = start.from;
  let seq = start.seq;
  let skip = start.skip;
  let open: OpenTransaction | null = null;
  let lastHeartbeat = Date.now();
  let lastCommitMillis: number | null = null;

  const commitOf = (tx: OpenTransaction, file?: string, offset?: number): BinlogCommitPosition => ({
    kind: 'binlog',
    flavor: context.flavor,
    gtidSet: formatGtidPosition(tx.after),
    seq: tx.seq,
    ...(file !== undefined && offset !== undefined ? { file, offset } : {}),
  });

  const toEvents = (
    tx: OpenTransaction,
    drafts: readonly Draft[],
    commit: BinlogCommitPosition,
    total: number | null,
    firstIndex: number,
  ): ChangeEvent[] => {
    // The same for every event of the transaction: made once.
    const commitTimeMicros = BigInt(tx.timestampMs) * 1000n;
    const origin = tx.serverId === 0 || context.localServerIds.has(tx.serverId) ? null : String(tx.serverId);
    return drafts.map((draft, i) => {
      const index = firstIndex + i;
      const base = {
        table: draft.table,
        source: {
          connector: context.connectorName,
          position: { commit, index },
          txId: tx.gtid,
          commitTimeMicros,
          origin,
          snapshot: false,
        },
        // A transaction released in pieces announces its size only on its last event.
        transaction: {
          id: tx.gtid,
          index,
          total: total !== null && (tx.released === 0 || index === total - 1) ? total : null,
        },
      };
      switch (draft.op) {
        case 'c':
          return { ...base, op: 'c', before: null, after: draft.after };
        case 'u':
          return { ...base, op: 'u', before: draft.before, after: draft.after, unchanged: [] };
        case 'd':
          return { ...base, op: 'd', before: draft.before, after: null };
        case 't':
          return { ...base, op: 't', before: null, after: null };
      }
    });
  };

  const progress = (pending: StreamProgress['pending']): void =>
    context.onProgress({ position, seq, pending, lastCommitMillis });

  /** Releases the first `maxTransactionEvents` held events of a large transaction (no commit yet). */
  function* releasePiece(tx: OpenTransaction): Generator<CaptureBatch> {
    const commit = commitOf(tx);
    const skipUpTo = skip !== null && skip.seq === tx.seq ? skip.index : -1;
    const piece = tx.drafts.splice(0, context.maxTransactionEvents);
    const events = toEvents(tx, piece, commit, null, tx.released).filter(
      (event) => event.source.position.index > skipUpTo,
    );
    tx.released += piece.length;
    progress({ from: tx.from, seq: tx.seq, index: tx.released - 1 });
    if (events.length > 0)
      yield {
        events,
        commit: null,
        state: { pending: { from: formatGtidPosition(tx.from), seq: String(tx.seq) } },
      };
  }

  function* finish(
    tx: OpenTransaction,
    file: string | undefined,
    offset: number | undefined,
  ): Generator<CaptureBatch> {
    open = null;
    position = tx.after;
    lastCommitMillis = tx.timestampMs;
    const total = tx.released + tx.drafts.length;
    if (total === 0) {
      if (Date.now() - lastHeartbeat < context.heartbeatIntervalMs) return;
      seq = tx.seq;
      lastHeartbeat = Date.now();
      progress(null);
      yield { events: [], commit: commitOf(tx, file, offset), state: { pending: null } };
      return;
    }
    seq = tx.seq;
    const commit = commitOf(tx, file, offset);
    const skipUpTo = skip !== null && skip.seq === tx.seq ? skip.index : -1;
    skip = null;
    const events = toEvents(tx, tx.drafts, commit, total, tx.released).filter(
      (event) => event.source.position.index > skipUpTo,
    );
    lastHeartbeat = Date.now();
    progress(null);
    // Saved only when this transaction truncated a table in a restarted snapshot's overlap.
    const overlapState =
      tx.truncatedInOverlap && context.overlap ? { overlapTruncated: context.overlap.changes.cleared } : {};
    yield { events, commit, state: { pending: null, ...overlapState } };
  }

  /** Releases a requested-snapshot chunk read at exactly the current position (between two transactions). */
  async function* releaseDue(at: BinlogCoordinate | null, idle: boolean): AsyncGenerator<CaptureBatch> {
    const incremental = context.incremental;
    if (incremental === null || !incremental.active || open !== null || at === null) return;
    const chunk = await incremental.due({ at, idle });
    if (chunk === null) return;
    seq += 1n;
    const commit: BinlogCommitPosition = {
      kind: 'binlog',
      flavor: context.flavor,
      gtidSet: formatGtidPosition(position),
      seq,
    };
    const commitTimeMicros = BigInt(Date.now()) * 1000n;
    const source = (index: number): ChangeEvent['source'] => ({
      connector: context.connectorName,
      position: { commit, index },
      txId: null,
      commitTimeMicros,
      origin: null,
      snapshot: true,
    });
    const table = chunk.table;
    // A whole keyless table replaces the replica's copy, which the stream and earlier snapshots filled.
    const events: ChangeEvent[] = chunk.replacesTable
      ? [{ op: 't', before: null, after: null, table, source: source(0), transaction: null }]
      : [];
    for (const after of chunk.rows)
      events.push({ op: 'r', before: null, after, table, source: source(events.length), transaction: null });
    progress(null);
    yield { events, commit, state: { pending: null, incremental: chunk.state } };
  }

  async function addRows(
    tx: OpenTransaction,
    message: Extract<BinlogMessage, { kind: 'rows' }>,
  ): Promise<void> {
    if (!tableMatches(context.patterns, message.database, message.table)) return;
    if (message.rows.length === 0) return;
    const table = await context.schemas.forRow(
      message.database,
      message.table,
      message.columns,
      message.primaryKey,
    );
    if (table === null) {
      context.logger.warn(
        { table: `${message.database}.${message.table}` },
        'row event for a table that no longer exists; skipped',
      );
      return;
    }
    const overlap = context.overlap;
    const gtid = tx.inOverlap;
    const keep = (row: Row): Promise<boolean> | boolean =>
      gtid === null || overlap === null ? true : overlap.changes.keep(gtid, table, row, overlap.order);
    // Awaited only when the overlap check has to wait: an await of a plain boolean costs a promise per row.
    for (const row of message.rows) {
      if (message.op === 'update') {
        const pair = row as { before: RawRow; after: RawRow };
        const before = decodeRow(table, pair.before);
        const after = decodeRow(table, pair.after);
        const beforeVerdict = keep(before);
        const keepBefore = typeof beforeVerdict === 'boolean' ? beforeVerdict : await beforeVerdict;
        const afterVerdict = sameKey(table, before, after) ? keepBefore : keep(after);
        const keepAfter = typeof afterVerdict === 'boolean' ? afterVerdict : await afterVerdict;
        // A row moved across a restarted snapshot's boundary: only its side streamed since `from` changes.
        if (keepBefore && keepAfter) tx.drafts.push({ op: 'u', table, before, after });
        else if (keepBefore) tx.drafts.push({ op: 'd', table, before });
        else if (keepAfter) tx.drafts.push({ op: 'c', table, after });
      } else if (message.op === 'insert') {
        const after = decodeRow(table, row);
        const verdict = keep(after);
        if (typeof verdict === 'boolean' ? verdict : await verdict) tx.drafts.push({ op: 'c', table, after });
      } else {
        const before = decodeRow(table, row);
        const verdict = keep(before);
        if (typeof verdict === 'boolean' ? verdict : await verdict)
          tx.drafts.push({ op: 'd', table, before });
      }
    }
  }

  async function applyDdl(tx: OpenTransaction, database: string, sql: string): Promise<void> {
    const ddl = parseDdl(sql, database);
    if (ddl === null) return;
    for (const [db, name] of ddl.tables) {
      if (!tableMatches(context.patterns, db, name)) continue;
      // Re-read now: the events after this statement in the binlog carry the new definition.
      const schema = await context.schemas.refresh(db, name);
      if (ddl.kind === 'truncate' && schema !== null) {
        if (tx.inOverlap !== null && context.overlap !== null) {
          context.overlap.changes.truncated(schema);
          tx.truncatedInOverlap = true;
        }
        tx.drafts.push({ op: 't', table: schema });
      }
    }
  }

  for await (const message of messages) {
    switch (message.kind) {
      case 'gtid': {
        yield* releaseDue(message.at, false);
        const gtid = parseGtid(context.flavor, message.gtid);
        open = {
          gtid: message.gtid,
          inOverlap: context.overlap?.changes.holds(gtid) ? gtid : null,
          truncatedInOverlap: false,
          serverId: message.serverId,
          timestampMs: message.timestampMs,
          standalone: message.standalone,
          sawBegin: false,
          from: position,
          after: advanceGtidPosition(position, gtid),
          seq: seq + 1n,
          drafts: [],
          released: 0,
        };
        break;
      }
      case 'rows':
        if (open) {
          await addRows(open, message);
          // Strictly more than the limit: the last event is always held back, so the commit batch carries it with the total.
          while (open.drafts.length > context.maxTransactionEvents) yield* releasePiece(open);
        }
        break;
      case 'query': {
        if (!open) break;
        const sql = message.sql.trim();
        if (/^BEGIN$/i.test(sql)) {
          open.sawBegin = true;
        } else if (/^COMMIT$/i.test(sql)) {
          yield* finish(open, undefined, undefined);
        } else if (open.standalone || (context.flavor === 'mysql' && !open.sawBegin)) {
          await applyDdl(open, message.database, sql);
          yield* finish(open, undefined, undefined);
        } else {
          await applyDdl(open, message.database, sql);
        }
        break;
      }
      case 'commit':
        if (open) yield* finish(open, message.file, message.offset);
        break;
      case 'heartbeat':
        yield* releaseDue(message.at, true);
        break;
    }
  }
}
