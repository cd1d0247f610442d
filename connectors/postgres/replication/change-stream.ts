/**
 * The streaming source: reads pgoutput messages from the slot, assembles source transactions into capture
 * batches in commit order, merges snapshot chunks at their HIGH watermarks, yields heartbeats when idle,
 * and reconnects by itself. Everything at or before the last yielded (or resumed) position is skipped, so a
 * reconnect or a restart neither repeats nor loses an event.
 */
import type pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import type { ChangeEvent, ReadEvent } from '../../../schemas/events/change-event.ts';
import { ZERO_LSN, parseLsn, type Lsn } from '../../../schemas/positions/lsn.ts';
import type { CommitPosition, EventPosition } from '../../../schemas/positions/position.ts';
import { CdcError, errorMessage, isRetriable } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { Backoff, type BackoffPolicy } from '../../../common/retry.ts';
import type { CaptureBatch, ConnectorState } from '../../connector.ts';
import { WATERMARK_PREFIX, parseWatermark } from '../snapshot/snapshot-runner.ts';
import type { WatermarkWindows } from '../snapshot/watermark-windows.ts';
import type { PgCatalog, PgTable } from '../types/catalog.ts';
import { TypeDrift } from '../types/type-drift.ts';
import { rowChangeEvent, truncateEvent, type EventContext } from './pgoutput-events.ts';
import {
  ReplicationSession,
  replicationApplicationName,
  type SessionMessage,
} from './replication-session.ts';
import { checkSlot, endStaleSlotHolder, readSlot, slotLostError } from './slot.ts';
import type { StreamTracker } from './stream-tracker.ts';
import { TransactionBuffer, type OpenTransaction } from './transaction-buffer.ts';

export const HEARTBEAT_PREFIX = 'cdc.heartbeat';

export interface ChangeStreamOptions {
  readonly connector: string;
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  readonly heartbeatIntervalMs: number;
  readonly maxTransactionEvents: number;
  readonly pool: pg.Pool;
  readonly catalog: PgCatalog;
  readonly windows: WatermarkWindows;
  readonly logger: Logger;
  readonly tracker: StreamTracker;
  /** The last WAL byte acknowledged: what a keepalive reply confirms while anything is in flight. */
  readonly replyLsn: () => Lsn;
  /** Where the commit record of a transaction about to be yielded ends (pgoutput's end LSN), by its commit LSN. */
  readonly onCommitEnd: (commit: Lsn, end: Lsn) => void;
  /** Whether every batch yielded so far has been acknowledged. */
  readonly allAcknowledged: () => boolean;
  /** The live session, so acknowledgements go out at once; null while disconnected. */
  readonly onSession: (session: ReplicationSession | null) => void;
  /** Throws the snapshot runner's failure, if it failed, so the stream fails with it. */
  readonly checkSnapshot: () => void;
  /** Each table as the stream (re)describes it: a table created while streaming shows up here first. */
  readonly onRelation?: (table: PgTable) => void;
  /**
   * `sources[].ha`: end a replication connection of this capture from another process that still holds the
   * slot (it lost the lease, and its producer is fenced) instead of waiting for wal_sender_timeout.
   */
  readonly takeOverSlot?: boolean;
  /**
   * Reconnect to the same server after a lost stream (default). False: a lost stream ends run() with its
   * (retriable) error, so the connector starts again and picks the server (`sources[].failover`).
   */
  readonly reconnect?: boolean;
}

/** Everything at or before (lsn, index) has been yielded or was already published. */
interface Skip {
  readonly lsn: Lsn;
  readonly index: number;
}

const WHOLE = Number.MAX_SAFE_INTEGER;
/** What most messages complete: shared, as nearly every message answers it (never added to). */
const NO_BATCHES: readonly CaptureBatch[] = Object.freeze([]);
const RECONNECT: BackoffPolicy = { initialMs: 250, maxMs: 30_000 };

export class ChangeStream {
  readonly #options: ChangeStreamOptions;
  readonly #txn: TransactionBuffer;
  readonly #relations = new Map<number, PgTable>();
  readonly #typeDrift = new TypeDrift();
  #skip: Skip | null = null;
  #session: ReplicationSession | null = null;
  /** A message taken from the session whose batches have not all been pulled yet. */
  #inHand = false;
  #lastYieldAt = Date.now();
  #lastHeartbeatWriteAt = 0;
  #nextTickAt = 0;

  constructor(options: ChangeStreamOptions) {
    this.#options = options;
    this.#txn = new TransactionBuffer(options.maxTransactionEvents);
  }

  async *run(resume: EventPosition | null, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    if (resume) {
      if (resume.commit.kind !== 'pg') {
        throw new CdcError(
          'POSITION_MISMATCH',
          `cannot resume a PostgreSQL connector from a ${resume.commit.kind} position`,
          {},
        );
      }
      this.#skip = { lsn: resume.commit.lsn, index: resume.index };
    }
    const { tracker, logger } = this.#options;
    const backoff = new Backoff(RECONNECT);
    while (!signal.aborted) {
      const session = this.#newSession();
      this.#session = session;
      const onAbort = (): void => session.queue.close();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await this.#validateSlot();
        if (this.#options.takeOverSlot === true) await this.#endStaleHolder();
        session.start();
        this.#options.onSession(session);
        if (tracker.state !== 'snapshotting') tracker.state = 'streaming';
        for (;;) {
          // A message already queued (nearly every one in a catch-up) is taken without a promise.
          const item = session.queue.poll() ?? (await session.queue.take(this.#tickMs()));
          if (signal.aborted) return;
          if (item === null)
            throw new CdcError(
              'SOURCE_STREAM_LOST',
              `replication stream on slot "${this.#options.slot}" ended`,
              {},
            );
          tracker.idle = item === undefined;
          if (item !== undefined) {
            backoff.reset();
            // In hand until every batch of the item has been pulled: the connector notes a batch as yielded
            // (allAcknowledged) only once it pulled it, so until then a keepalive reply must not count the
            // item's transaction as done.
            this.#inHand = true;
            try {
              // Most messages are handled without waiting on anything (#handle answers an array, not a promise).
              const handled = this.#handle(item);
              for (const batch of Array.isArray(handled) ? handled : await handled) yield batch;
            } finally {
              this.#inHand = false;
            }
          }
          if (Date.now() >= this.#nextTickAt) await this.#tick();
        }
      } catch (error) {
        if (signal.aborted) return;
        tracker.lastError = errorMessage(error);
        if (!isRetriable(error)) {
          tracker.state = 'failed';
          throw error;
        }
        if (this.#options.reconnect === false) {
          tracker.state = 'reconnecting';
          throw error;
        }
        tracker.state = 'reconnecting';
        const delayMs = backoff.next();
        logger.warn({ err: error, delayMs }, 'replication stream lost; reconnecting');
        await Backoff.sleep(delayMs, signal);
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.#options.onSession(null);
        this.#txn.reset();
        this.#relations.clear();
        await session.stop();
      }
    }
  }

  #newSession(): ReplicationSession {
    const options = this.#options;
    return new ReplicationSession({
      url: options.url,
      slot: options.slot,
      publication: options.publication,
      applicationName: replicationApplicationName(options.connector),
      logger: options.logger,
      // With nothing received and unacknowledged, the keepalive's WAL end is confirmed: every transaction
      // committed before it has been sent (and handled), and one still open commits after it. Without this
      // the walsender of an idle stream waits for our reply at server shutdown (pg_recvlogical does the same).
      replyLsn: (walEnd) => {
        const acked = options.replyLsn();
        const quiet =
          this.#session?.backlog === 0 &&
          this.#txn.open === null &&
          !this.#inHand &&
          options.allAcknowledged();
        return quiet && walEnd - 1n > acked ? ((walEnd - 1n) as Lsn) : acked;
      },
      queueCapacity: 1024,
    });
  }

  async #endStaleHolder(): Promise<void> {
    const { pool, slot, connector, logger } = this.#options;
    const ended = await endStaleSlotHolder(pool, slot, replicationApplicationName(connector));
    if (ended !== null)
      logger.warn(
        { slot, pid: ended },
        'ended the replication connection of another process of this capture that still held the slot (it lost the lease)',
      );
  }

  /** Re-checked on every (re)connect: a slot dropped or invalidated meanwhile must not be silently recreated. */
  async #validateSlot(): Promise<void> {
    const { pool, slot } = this.#options;
    const row = await readSlot(pool, slot);
    const database = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
    if (!row) throw slotLostError(slot, `database "${database}"`);
    const problem = checkSlot(slot, database, row);
    if (problem) throw problem;
  }

  #tickMs(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.#options.heartbeatIntervalMs / 2)));
  }

  /**
   * The batches a message completes. Row changes of a table already described (nearly every message) are
   * handled at once; a message that needs the catalog (a relation, a row showing its types changed) answers a
   * promise. A message of the stream costs no promise of its own that way.
   */
  #handle(item: SessionMessage): readonly CaptureBatch[] | Promise<readonly CaptureBatch[]> {
    const message = item.message;
    const tracker = this.#options.tracker;
    const tag = message.tag;
    if (tag === 'insert' || tag === 'update' || tag === 'delete') {
      // A row change needs no position of its own: its text is kept for status, and parsed only there.
      tracker.receivedText = item.lsn;
      return this.#rowChange(message);
    }
    const lsn = parseLsn(item.lsn);
    if (tracker.received === null || lsn > tracker.received) tracker.received = lsn;
    switch (message.tag) {
      case 'begin': {
        const commitTimeMicros = message.commitTime.valueOf();
        tracker.lastCommitTimeMicros = commitTimeMicros;
        this.#txn.begin(
          message.commitLsn ? parseLsn(message.commitLsn) : lsn,
          String(message.xid >>> 0),
          commitTimeMicros,
        );
        return NO_BATCHES;
      }
      case 'origin': {
        const open = this.#txn.current();
        open.origin = message.originName;
        // 0/0 when the applying session gave no position (pg_replication_origin_xact_setup was not called).
        const originLsn = message.originLsn ? parseLsn(message.originLsn) : null;
        open.originLsn = originLsn === null || originLsn === ZERO_LSN ? null : originLsn;
        return NO_BATCHES;
      }
      case 'relation':
        return this.#relationChanged(message);
      case 'type':
        return NO_BATCHES;
      case 'truncate': {
        const batches: CaptureBatch[] = [];
        for (const relation of message.relations) {
          batches.push(
            ...this.#push(
              relation.relationOid,
              truncateEvent(this.#context(this.#relation(relation.relationOid))),
            ),
          );
        }
        return batches;
      }
      case 'commit': {
        const { transaction, events } = this.#txn.commit();
        if (message.commitEndLsn)
          this.#options.onCommitEnd(transaction.commitLsn, parseLsn(message.commitEndLsn));
        return this.#emit(events, { kind: 'pg', lsn: transaction.commitLsn });
      }
      case 'message':
        return this.#logicalMessage(message, lsn);
    }
  }

  #rowChange(
    message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  ): readonly CaptureBatch[] | Promise<readonly CaptureBatch[]> {
    const oid = message.relation.relationOid;
    const table = this.#relation(oid);
    if (this.#typeDrift.drifted(table, message)) return this.#rowAfterReload(message);
    return this.#push(oid, rowChangeEvent(message, this.#context(table)));
  }

  async #relationChanged(message: Pgoutput.MessageRelation): Promise<readonly CaptureBatch[]> {
    const table = await this.#tableFor(message);
    this.#relations.set(message.relationOid, table);
    this.#options.onRelation?.(table);
    return NO_BATCHES;
  }

  /** A row whose values show its table's types changed since the table was described: described again first. */
  async #rowAfterReload(
    message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  ): Promise<readonly CaptureBatch[]> {
    const oid = message.relation.relationOid;
    const table = await this.#typeDrift.reload(message, () => this.#tableFor(message.relation, true));
    this.#relations.set(oid, table);
    return this.#push(oid, rowChangeEvent(message, this.#context(table)));
  }

  #push(oid: number, event: ChangeEvent): readonly CaptureBatch[] {
    // Keys are noted even for events skipped as already published: the snapshot window must see them.
    this.#options.windows.observe(oid, event);
    const early = this.#txn.push(event);
    return early.length > 0 ? this.#emit(early, null) : NO_BATCHES;
  }

  /**
   * Non-transactional messages sit between transactions in the stream, so their position is a safe commit
   * point. PostgreSQL reports such a message at the END of its WAL record, which is exactly the commit LSN of
   * a transaction whose commit record follows it; positioned there, a heartbeat or HIGH watermark would make
   * that transaction count as already yielded (dropped by the skip point, and skipped by the server after an
   * acknowledgement). The record's last byte, one before, is after every earlier record and before any later.
   */
  #logicalMessage(message: Pgoutput.MessageMessage, received: Lsn): readonly CaptureBatch[] {
    if (message.transactional || this.#txn.open) return NO_BATCHES;
    const lsn = messagePosition(message.messageLsn ? parseLsn(message.messageLsn) : received);
    if (message.prefix === HEARTBEAT_PREFIX) return this.#emit([], { kind: 'pg', lsn });
    if (message.prefix !== WATERMARK_PREFIX) return NO_BATCHES;
    const watermark = parseWatermark(message.content);
    if (!watermark) return NO_BATCHES;
    if (watermark.kind === 'low') {
      this.#options.windows.low(watermark.id);
      return NO_BATCHES;
    }
    const chunk = this.#options.windows.high(watermark.id);
    if (!chunk) return NO_BATCHES;
    const commit: CommitPosition = { kind: 'pg', lsn };
    const nowMicros = BigInt(Date.now()) * 1000n;
    // A whole keyless table replaces what the replica holds: the truncate clears every earlier copy of its
    // rows (from the stream, or from a read of it interrupted by a restart), so each row lands once. The first
    // chunk of a re-snapshot clears the replica's copy too (rows deleted while the slot was lost go with it).
    const clear = chunk.replacesTable && !chunk.retry;
    const source = (index: number): ChangeEvent['source'] => ({
      connector: this.#options.connector,
      position: { commit, index },
      txId: null,
      commitTimeMicros: nowMicros,
      origin: null,
      snapshot: true,
    });
    const table = chunk.table.schema;
    const events: ChangeEvent[] = clear
      ? [{ op: 't', before: null, after: null, table, transaction: null, source: source(0) }]
      : [];
    for (const row of chunk.rows) {
      const read: ReadEvent = {
        op: 'r',
        before: null,
        after: row,
        table,
        transaction: null,
        source: source(events.length),
      };
      events.push(read);
    }
    return this.#emit(events, commit, chunk.retry ? undefined : chunk.state);
  }

  /** Drops what is at or before the skip point, then moves the skip point past what is yielded. */
  #emit(
    events: readonly ChangeEvent[],
    commit: CommitPosition | null,
    state?: ConnectorState,
  ): readonly CaptureBatch[] {
    const skip = this.#skip;
    const kept = skip ? events.filter((event) => isAfter(event.source.position, skip)) : [...events];
    // A commit is already done when the skip point is past it, or is it with the whole transaction yielded.
    const commitDone =
      commit === null ||
      commit.kind !== 'pg' ||
      (skip !== null && (commit.lsn < skip.lsn || (commit.lsn === skip.lsn && skip.index === WHOLE)));
    if (kept.length === 0 && commitDone) return NO_BATCHES;
    const last = kept.at(-1);
    if (!commitDone && commit.kind === 'pg') this.#skip = { lsn: commit.lsn, index: WHOLE };
    else if (last && last.source.position.commit.kind === 'pg')
      this.#skip = { lsn: last.source.position.commit.lsn, index: last.source.position.index };
    this.#lastYieldAt = Date.now();
    return [{ events: kept, commit: commitDone ? null : commit, ...(state ? { state } : {}) }];
  }

  /** The events of one transaction share its commit object, so consumers of positions can memoize by identity. */
  #commitOf: { readonly open: OpenTransaction; readonly commit: CommitPosition } | null = null;

  #context(table: PgTable): EventContext {
    const open: OpenTransaction = this.#txn.current();
    let shared = this.#commitOf;
    if (shared?.open !== open)
      this.#commitOf = shared = { open, commit: { kind: 'pg', lsn: open.commitLsn } };
    const position: EventPosition = { commit: shared.commit, index: open.nextIndex };
    return {
      table: table.schema,
      source: {
        connector: this.#options.connector,
        position,
        txId: open.xid,
        commitTimeMicros: open.commitTimeMicros,
        origin: open.origin,
        ...(open.originLsn !== null ? { originCommit: { kind: 'pg', lsn: open.originLsn } } : {}),
        snapshot: false,
      },
      transaction: { id: open.xid, index: open.nextIndex, total: null },
    };
  }

  #relation(oid: number): PgTable {
    const table = this.#relations.get(oid);
    if (!table)
      throw new CdcError('DECODE_FAILED', `change for relation ${oid} arrived before its RELATION message`, {
        oid,
      });
    return table;
  }

  /** The catalog's table, narrowed to the columns the publication sends (publication column lists). */
  async #tableFor(message: Pgoutput.MessageRelation, reload = false): Promise<PgTable> {
    // Key flags too: a primary key added to a keyless table changes its key, not its columns.
    const signature = `${message.replicaIdentity}|${message.columns.map((column) => `${column.name}:${column.typeOid}:${column.typeMod}:${column.flags}`).join(',')}`;
    const names = message.columns.map((column) => column.name);
    const table = await this.#options.catalog.forRelation(message.relationOid, signature, names, reload);
    const sent = new Set(names);
    if (table.schema.columns.every((column) => sent.has(column.name))) return table;
    return {
      ...table,
      schema: { ...table.schema, columns: table.schema.columns.filter((column) => sent.has(column.name)) },
    };
  }

  /** Periodic work: a heartbeat message when nothing was yielded for a while, and the slot's lag. */
  async #tick(): Promise<void> {
    this.#nextTickAt = Date.now() + this.#tickMs();
    this.#options.checkSnapshot();
    const { pool, heartbeatIntervalMs, slot, tracker, logger } = this.#options;
    const now = Date.now();
    try {
      if (
        now - this.#lastYieldAt >= heartbeatIntervalMs &&
        now - this.#lastHeartbeatWriteAt >= heartbeatIntervalMs
      ) {
        this.#lastHeartbeatWriteAt = now;
        // Makes the walsender send something even when the database is idle or only changes other tables.
        await pool.query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, slot]);
      }
      const result = await pool.query<{ confirmed: string | null; lag: string | null }>(
        `SELECT confirmed_flush_lsn::text AS confirmed, (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      const row = result.rows[0];
      if (row?.confirmed) tracker.confirmed = parseLsn(row.confirmed);
      tracker.lagBytes = row?.lag ? Number(row.lag) : null;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      // The stream itself notices a lost server; a missed heartbeat is retried on the next tick.
      logger.warn({ err: error }, 'heartbeat or lag query failed');
    }
  }
}

/** The position of a non-transactional message whose WAL record ends at `end` (see #logicalMessage). */
export function messagePosition(end: Lsn): Lsn {
  return (end > 0n ? end - 1n : end) as Lsn;
}

function isAfter(position: EventPosition, skip: Skip): boolean {
  if (position.commit.kind !== 'pg') return true;
  return position.commit.lsn > skip.lsn || (position.commit.lsn === skip.lsn && position.index > skip.index);
}
