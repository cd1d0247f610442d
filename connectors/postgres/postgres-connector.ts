/**
 * The PostgreSQL source connector: validates the server, publication and slot at start-up, then streams the
 * slot (replication/change-stream.ts) with watermark snapshots merged in (snapshot/). Only acknowledge()
 * moves the slot's confirmed position, so nothing is released before it is durable downstream.
 */
import pg from 'pg';
import { type Lsn } from '../../schemas/positions/lsn.ts';
import { formatLsn } from '../../schemas/positions/lsn.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';
import { CdcError, errorMessage, isRetriable } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import type { CaptureBatch, ConnectorStatus, ResumePoint, SourceConnector } from '../connector.ts';
import { ChangeStream } from './replication/change-stream.ts';
import { replicaIdentityWarning } from './replication/identity-check.ts';
import { assertTablesReadable, ensurePublication } from './replication/publication.ts';
import { replicationApplicationName, type ReplicationSession } from './replication/replication-session.ts';
import { assertServerReady } from './replication/server-checks.ts';
import { ensureSlot, isSlotLost } from './replication/slot.ts';
import {
  ResnapshotState,
  dropSlotForResnapshot,
  slotLostStop,
  walPositionAfter,
} from './replication/slot-loss.ts';
import { findPrimary, makeFailoverSlot, serverLabel } from './replication/failover.ts';
import { lastReceived, newTracker, type StreamTracker } from './replication/stream-tracker.ts';
import { planFromState, planState, type SnapshotPlan } from './snapshot/snapshot-plan.ts';
import { SnapshotRunner, newPlan } from './snapshot/snapshot-runner.ts';
import { WatermarkWindows } from './snapshot/watermark-windows.ts';
import { PgCatalog, type PgTable } from './types/catalog.ts';
import { CAPTURE_SESSION_OPTIONS } from './types/pg-sql.ts';
import { postgresConnectOptions, postgresSecurityError } from '../../common/connect/postgres-url.ts';

export interface PostgresConnectorConfig {
  readonly name: string;
  readonly url: string;
  readonly publication: string;
  readonly slot: string;
  /** `schema.table` or `schema.*` patterns; used to create the publication when it is missing. */
  readonly tables: readonly string[];
  readonly createPublication: boolean;
  readonly snapshot: 'initial' | 'never';
  readonly snapshotChunkRows: number;
  readonly heartbeatIntervalMs: number;
  readonly maxTransactionEvents: number;
  /** Several processes run this capture (`ha`): see ChangeStreamOptions.takeOverSlot. */
  readonly takeOverSlot?: boolean;
  /**
   * `sources[].failover`: the servers (besides `url`) that may become the primary. Non-empty makes the slot a
   * failover slot and each (re)start stream from whichever server is the primary then (replication/failover.ts).
   */
  readonly failoverCandidates?: readonly string[];
  /**
   * `sources[].onSlotLost`: what to do when the slot is gone or invalidated although capture published from it:
   * stop with SLOT_INVALID (default) until an operator asks for the re-snapshot, or re-snapshot at once.
   */
  readonly onSlotLost?: 'stop' | 'resnapshot';
}

interface Running {
  readonly pool: pg.Pool;
  readonly catalog: PgCatalog;
  readonly windows: WatermarkWindows;
  readonly signal: AbortSignal;
  readonly capturedTables: readonly string[];
}

export class PostgresConnector implements SourceConnector {
  readonly name: string;
  readonly #config: PostgresConnectorConfig;
  readonly #logger: Logger;
  #tracker: StreamTracker = newTracker();
  #session: ReplicationSession | null = null;
  #running: Running | null = null;
  #ackedCommit: Lsn | null = null;
  /** The last WAL byte confirmed to the server: the end of the last acknowledged commit record, less one. */
  #ackedThrough: Lsn | null = null;
  /** Where each yielded transaction's commit record ends, by commit LSN, until it is acknowledged. */
  readonly #commitEnds = new Map<Lsn, Lsn>();
  /** Commit of the last batch handed to the publisher (acknowledged or not). */
  #yieldedCommit: Lsn | null = null;
  #slotConfirmed: Lsn | null = null;
  #runner: SnapshotRunner | null = null;
  #runnerFailure: { error: unknown } | null = null;
  #pendingSnapshot: string[] | null = null;
  #publishesUpdatesOrDeletes = true;
  /** Tables whose updates and deletes cannot be captured, by `schema.table`, with what to do about it. */
  readonly #warnings = new Map<string, string>();
  /**
   * What keeps a failover from being safe (`failoverCandidates` only): found at each (re)start, and again by the
   * slot-health sampler beside the capture (noteFailoverWarnings), so a fixed or broken setting shows without one.
   */
  #failoverWarnings: readonly string[] = [];
  /** The server streamed from: `url`, or the candidate found to be the primary at the last (re)start. */
  #current: string;
  readonly #resnapshot = new ResnapshotState();
  /** Waits for the acknowledgement of a commit position (the start of a re-snapshot). */
  #ackWaiter: { readonly lsn: Lsn; readonly resolve: () => void } | null = null;

  constructor(config: PostgresConnectorConfig, logger: Logger = silentLogger) {
    this.name = config.name;
    this.#config = config;
    this.#logger = logger.child({ connector: config.name, slot: config.slot });
    this.#current = config.url;
  }

  /** URL of the server streamed from now (for samplers beside capture): `url`, or the promoted candidate. */
  get serverUrl(): string {
    return this.#current;
  }

  /** Takes the failover warnings found now; each is logged when it appears, and their clearing once. */
  noteFailoverWarnings(warnings: readonly string[]): void {
    for (const warning of warnings) if (!this.#failoverWarnings.includes(warning)) this.#logger.warn(warning);
    if (this.#failoverWarnings.length > 0 && warnings.length === 0)
      this.#logger.info('the failover set-up has nothing more to warn of');
    this.#failoverWarnings = warnings;
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    const config = this.#config;
    this.#tracker = newTracker();
    const failover = (config.failoverCandidates ?? []).length > 0;
    const url = failover
      ? await this.#findPrimary().catch((error: unknown) => {
          this.#tracker.state = 'reconnecting';
          this.#tracker.lastError = errorMessage(error);
          throw error;
        })
      : config.url;
    const pool = new pg.Pool({
      ...postgresConnectOptions(url),
      options: CAPTURE_SESSION_OPTIONS,
      max: 3,
      application_name: `cdc:${config.name}`,
    });
    pool.on('error', (error) => this.#logger.warn({ err: error }, 'idle source connection failed'));
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const catalog = new PgCatalog(pool);
      const capturedTables = await this.#prepareSource(pool, catalog, url);
      let resumed = planFromState(resume.state);
      const lost = await this.#openSlot(pool, url, resume.position === null);
      // A re-snapshot whose start was published goes on even with onSlotLost: stop (it was asked for), and one
      // whose slot is lost again starts over: tables already copied would miss the changes lost this time.
      const resnapshot =
        this.#resnapshot.requested ||
        (lost !== null && (this.#config.onSlotLost === 'resnapshot' || resumed?.replace === true));
      if (lost !== null && !resnapshot) throw this.#needResnapshot(lost, resume);
      if (resnapshot) {
        const reason = lost?.message ?? 'requested by an operator';
        if (lost !== null)
          this.#logger.warn({ reason }, 'replication slot lost: re-snapshotting every captured table');
        else this.#logger.info('re-snapshotting every captured table, as requested');
        resumed = newPlan(capturedTables, true);
        // The plan is published first, so a restart from here on finishes the re-snapshot whatever happens to
        // the slot; only then is the slot replaced, which releases the old one's WAL.
        const published = resume.position?.commit.kind === 'pg' ? resume.position.commit.lsn : null;
        const acked = this.#ackedCommit;
        const start = await walPositionAfter(
          pool,
          published !== null && acked !== null && acked > published ? acked : (published ?? acked),
        );
        this.#yieldedCommit = start;
        yield { events: [], commit: { kind: 'pg', lsn: start }, state: planState(resumed) };
        await this.#acknowledged(start, stop.signal);
        // Stopped before the plan was durable: the slot stays as it is for the next start.
        if (stop.signal.aborted) return;
        await dropSlotForResnapshot(pool, config.slot, replicationApplicationName(config.name));
        await this.#openSlot(pool, url, true);
        // The start position precedes the new slot: replies confirm from the slot's own position on.
        this.#ackedThrough = null;
        this.#resnapshot.started(reason);
      }
      this.#running = { pool, catalog, windows: new WatermarkWindows(), signal: stop.signal, capturedTables };
      if (resumed) this.#startSnapshot(resumed);
      else if (config.snapshot === 'initial' && resume.position === null)
        this.#startSnapshot(newPlan(capturedTables));
      if (this.#pendingSnapshot) await this.requestSnapshot(this.#pendingSnapshot);
      const changes = new ChangeStream({
        connector: config.name,
        url,
        slot: config.slot,
        publication: config.publication,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        maxTransactionEvents: config.maxTransactionEvents,
        pool,
        catalog,
        windows: this.#running.windows,
        logger: this.#logger,
        tracker: this.#tracker,
        replyLsn: () => this.#ackedThrough ?? (((this.#slotConfirmed ?? 1n) - 1n) as Lsn),
        onCommitEnd: (commit, end) => this.#commitEnds.set(commit, end),
        allAcknowledged: () =>
          this.#yieldedCommit === null ||
          (this.#ackedCommit !== null && this.#yieldedCommit <= this.#ackedCommit),
        onSession: (session) => {
          this.#session = session;
        },
        onRelation: (table) => this.#checkIdentity(table),
        takeOverSlot: config.takeOverSlot === true,
        // A lost connection may mean the primary is gone: the next start asks every server which is primary now.
        reconnect: !failover,
        checkSnapshot: () => {
          if (this.#runnerFailure) throw this.#runnerFailure.error;
        },
      });
      for await (const batch of changes.run(resume.position, signal)) {
        if (batch.commit?.kind === 'pg') this.#yieldedCommit = batch.commit.lsn;
        yield batch;
      }
      this.#tracker.state = 'stopped';
    } catch (caught) {
      let error = caught;
      // Lost while streaming: with the re-snapshot allowed, the next start does it (the supervisor restarts).
      if (isSlotLost(caught)) {
        error =
          this.#resnapshot.requested || config.onSlotLost === 'resnapshot'
            ? new CdcError('SLOT_INVALID', caught.message, caught.fields, { cause: caught, retriable: true })
            : this.#needResnapshot(caught, resume);
      }
      this.#tracker.state = 'failed';
      this.#tracker.lastError = errorMessage(error);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop.abort();
      this.#running = null;
      this.#runner = null;
      this.#session = null;
      if (this.#tracker.state !== 'failed') this.#tracker.state = 'stopped';
      await pool.end();
    }
  }

  /** `failoverCandidates`: the server that is primary now, with the failover set-up's warnings noted. */
  async #findPrimary(): Promise<string> {
    const config = this.#config;
    const choice = await findPrimary(
      config.name,
      [config.url, ...(config.failoverCandidates ?? [])],
      config.slot,
    );
    this.noteFailoverWarnings(choice.warnings);
    this.#current = choice.primary.url;
    this.#logger.info({ server: serverLabel(choice.primary.url) }, 'capturing from the primary');
    return choice.primary.url;
  }

  /**
   * Start-up checks, in the order an operator would fix them, up to the slot (#openSlot); returns the captured
   * tables.
   */
  async #prepareSource(pool: pg.Pool, catalog: PgCatalog, url: string): Promise<string[]> {
    const config = this.#config;
    // The first query is where an unreachable server shows: say which source and where, not only the socket error.
    await assertServerReady(pool, config.slot).catch((error: unknown) => {
      throw sourceUnreachable(error, config.name, url);
    });
    const publication = await ensurePublication(
      pool,
      config.publication,
      config.tables,
      config.createPublication,
    );
    await assertTablesReadable(pool, publication);
    this.#publishesUpdatesOrDeletes = publication.publishesUpdates || publication.publishesDeletes;
    for (const table of publication.tables) this.#checkIdentity(await catalog.load(table.oid));
    return publication.tables.map((table) => `${table.schema}.${table.table}`);
  }

  /**
   * Checks (or creates) the slot; returns why it is lost, or null when it can be streamed from. `create`: a
   * missing slot may be created (nothing was published yet, or a re-snapshot starts).
   */
  async #openSlot(pool: pg.Pool, url: string, create: boolean): Promise<CdcError | null> {
    const config = this.#config;
    const failover = (config.failoverCandidates ?? []).length > 0;
    let slot;
    try {
      slot = await ensureSlot(pool, config.slot, { failover, create });
    } catch (error) {
      if (isSlotLost(error)) return error;
      throw error;
    }
    if (failover && !slot.failover) {
      await makeFailoverSlot(url, config.slot);
      this.#logger.info('made the replication slot a failover slot');
    }
    this.#slotConfirmed = slot.confirmed;
    this.#tracker.confirmed = slot.confirmed;
    if (slot.created) this.#logger.info('created replication slot');
    return null;
  }

  /** The stop error of a lost slot (onSlotLost: stop), noted for `/status` until the re-snapshot is asked for. */
  #needResnapshot(lost: CdcError, resume: ResumePoint): CdcError {
    this.#resnapshot.needed = lost.message;
    return slotLostStop(lost, this.#config.name, resume.position);
  }

  /** Resolves once `lsn` is acknowledged (durable in Kafka), or when `signal` aborts. */
  #acknowledged(lsn: Lsn, signal: AbortSignal): Promise<void> {
    if (this.#ackedCommit !== null && this.#ackedCommit >= lsn) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.#ackWaiter = null;
        resolve();
      };
      this.#ackWaiter = { lsn, resolve: done };
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Re-snapshots on the next start: a new slot (the lost or invalidated one dropped), and every captured table
   * copied again, each replacing the replica's copy. The caller restarts the capture (capture-task.ts).
   */
  requestResnapshot(): void {
    this.#resnapshot.request();
  }

  /** Notes (and logs, once) a table whose updates and deletes cannot be captured; forgets it once fixed. */
  #checkIdentity(table: PgTable): void {
    const name = `${table.schema.schema}.${table.schema.table}`;
    const warning = replicaIdentityWarning(table, this.#publishesUpdatesOrDeletes);
    if (warning === null) {
      this.#warnings.delete(name);
    } else if (this.#warnings.get(name) !== warning) {
      this.#warnings.set(name, warning);
      this.#logger.warn({ table: name }, warning);
    }
  }

  #startSnapshot(plan: SnapshotPlan): void {
    const running = this.#running;
    if (!running) return;
    const runner = new SnapshotRunner(
      {
        pool: running.pool,
        catalog: running.catalog,
        windows: running.windows,
        chunkRows: this.#config.snapshotChunkRows,
        logger: this.#logger,
        signal: running.signal,
      },
      plan,
    );
    this.#runner = runner;
    this.#runnerFailure = null;
    this.#tracker.state = 'snapshotting';
    runner.run().then(
      () => {
        if (this.#tracker.state === 'snapshotting') this.#tracker.state = 'streaming';
      },
      (error: unknown) => {
        this.#logger.error({ err: error }, 'snapshot failed');
        this.#runnerFailure = { error };
      },
    );
  }

  async acknowledge(commit: CommitPosition): Promise<void> {
    if (commit.kind !== 'pg')
      throw new CdcError(
        'POSITION_MISMATCH',
        `PostgreSQL connector cannot acknowledge a ${commit.kind} position`,
        {},
      );
    if (this.#ackedCommit !== null && commit.lsn <= this.#ackedCommit) return;
    this.#ackedCommit = commit.lsn;
    if (this.#ackWaiter !== null && this.#ackWaiter.lsn <= commit.lsn) this.#ackWaiter.resolve();
    const end = this.#commitEnds.get(commit.lsn);
    // Commits are noted and acknowledged in commit order: everything up to this one is done.
    for (const noted of this.#commitEnds.keys()) {
      if (noted > commit.lsn) break;
      this.#commitEnds.delete(noted);
    }
    // The server is told the commit record's end, as PostgreSQL's own subscribers do (the reply carries the
    // last byte + 1): a source session waiting for a synchronous standby named after this capture
    // (synchronous_standby_names) returns only then, and a later transaction's commit record starts at that
    // end or after it, so it is still sent after a restart. Heartbeats and snapshot chunks carry a
    // position that is already a last byte.
    this.#ackedThrough = end === undefined ? commit.lsn : ((end - 1n) as Lsn);
    // Sent now when connected; otherwise the next keepalive reply carries it.
    await this.#session?.acknowledge(this.#ackedThrough);
  }

  requestSnapshot(tables: readonly string[]): Promise<void> {
    try {
      this.#requestSnapshotNow(tables);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(
        error instanceof Error ? error : new Error('snapshot request failed', { cause: error }),
      );
    }
  }

  #requestSnapshotNow(tables: readonly string[]): void {
    const running = this.#running;
    if (!running) {
      this.#pendingSnapshot = [...(this.#pendingSnapshot ?? []), ...tables];
      return;
    }
    this.#pendingSnapshot = null;
    const wanted =
      tables.length === 0
        ? running.capturedTables
        : tables.map((table) => (table.includes('.') ? table : `public.${table}`));
    const unknown = wanted.filter((table) => !running.capturedTables.includes(table));
    if (unknown.length > 0) {
      throw new CdcError(
        'SOURCE_TABLE_UNSUPPORTED',
        `cannot snapshot ${unknown.join(', ')}: not in publication "${this.#config.publication}"`,
        {
          tables: unknown.join(', '),
        },
      );
    }
    if (this.#runner && !this.#runner.done && !this.#runnerFailure) this.#runner.add(wanted);
    else this.#startSnapshot(newPlan(wanted));
  }

  status(): ConnectorStatus {
    const config = this.#config;
    const failover = (config.failoverCandidates ?? []).length > 0;
    const tracker = this.#tracker;
    const confirmed = tracker.confirmed;
    const received = lastReceived(tracker);
    const resnapshot = this.#resnapshot.status(this.#runner);
    const lagMillis =
      tracker.lastCommitTimeMicros === null
        ? null
        : tracker.idle
          ? 0
          : Math.max(0, Date.now() - Number(tracker.lastCommitTimeMicros / 1000n));
    return {
      name: this.name,
      kind: 'postgres',
      state: tracker.state,
      stream: this.#config.slot,
      confirmed: confirmed === null ? null : formatLsn(confirmed),
      received: received === null ? null : formatLsn(received),
      lagBytes: tracker.lagBytes,
      lagMillis,
      snapshot: this.#runner ? this.#runner.progress() : null,
      lastError: tracker.lastError,
      warnings: [
        ...this.#warnings.values(),
        ...this.#failoverWarnings,
        ...(resnapshot?.state === 'running'
          ? [`re-snapshot in progress (${resnapshot.reason}): replicas miss rows until it is done`]
          : []),
      ],
      ...(resnapshot === null ? {} : { resnapshot }),
      ...(failover
        ? {
            server: {
              current: serverLabel(this.#current),
              candidates: [config.url, ...(config.failoverCandidates ?? [])].map(serverLabel),
            },
          }
        : {}),
    };
  }
}

/** A connection failure as SOURCE_UNREACHABLE naming the source, its database and address (never the password). */
function sourceUnreachable(error: unknown, source: string, url: string): unknown {
  const refused = postgresSecurityError(error, url, `cannot connect to source ${source}`);
  if (refused !== null) return refused;
  if (error instanceof CdcError || !isRetriable(error)) return error;
  const parsed = URL.canParse(url) ? new URL(url) : null;
  const where = parsed
    ? `database "${decodeURIComponent(parsed.pathname.slice(1))}" at ${parsed.host}`
    : 'its configured server';
  return new CdcError(
    'SOURCE_UNREACHABLE',
    `cannot connect to source ${source} (${where}): ${errorMessage(error)}`,
    { source },
    { cause: error, retriable: true },
  );
}
