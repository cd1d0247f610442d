/**
 * The MySQL/MariaDB source connector: checks the server, takes the initial snapshot (snapshot/), then streams
 * the binlog in GTID order (replication/), reconnecting with backoff after transient failures and resuming
 * exactly after the last event the consumer received.
 *
 * Resume: the position of the last published event carries the GTID position after its transaction and the
 * stream's seq; the state says whether a snapshot is unfinished and whether that transaction was published
 * only in part (then it is restreamed from its start, skipping the published events), and where a first start
 * without a snapshot began streaming (stored before the connector reports it streams).
 */
import mysql, { type Connection } from 'mysql2/promise';
import type { CommitPosition, EventPosition } from '../../schemas/positions/position.ts';
import { formatCommit } from '../../schemas/positions/position.ts';
import { formatGtidPosition, parseGtidPosition } from '../../schemas/positions/gtid.ts';
import { CdcError, asCdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { Backoff, type BackoffPolicy } from '../../common/retry.ts';
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SnapshotProgress,
  SourceConnector,
} from '../connector.ts';
import {
  decodeMysqlConnectorConfig,
  type MysqlConnectorConfig,
  type MysqlConnectorConfigInput,
} from './config.ts';
import { BinlogClient } from './replication/binlog-client.ts';
import { isTransientMysqlError } from './replication/transient.ts';
import { ServerGroup, serverLabel } from './replication/candidates.ts';
import { checkSource, currentGtidPosition, type SourceFacts } from './replication/source-checks.ts';
import {
  streamTransactions,
  type StreamProgress,
  type StreamStart,
} from './replication/transaction-stream.ts';
import { takeSnapshot } from './snapshot/snapshot-reader.ts';
import { freshSnapshotState, readSnapshotState, type SnapshotState } from './snapshot/snapshot-state.ts';
import { SnapshotOverlap } from './snapshot/snapshot-overlap.ts';
import { KeyOrder } from './types/key-order.ts';
import { IncrementalSnapshot, readIncrementalState } from './snapshot/incremental.ts';
import {
  estimateRows,
  listCapturedTables,
  parseTablePatterns,
  requestedTables,
  type TablePattern,
} from './types/catalog.ts';
import { SchemaCache } from './types/schema-cache.ts';
import { readPending, readString, readStrings, savedStart, type PendingState } from './resume-state.ts';
import { mysqlConnectOptions, mysqlSecurityError } from '../../common/connect/mysql-url.ts';

const RECONNECT: BackoffPolicy = { initialMs: 200, maxMs: 10_000 };

export class MysqlConnector implements SourceConnector {
  readonly name: string;
  readonly #config: MysqlConnectorConfig;
  readonly #patterns: readonly TablePattern[];
  readonly #logger: Logger;
  #state: ConnectorStatus['state'] = 'starting';
  #lastError: string | null = null;
  #confirmed: string | null = null;
  #progress: StreamProgress | null = null;
  #snapshot: SnapshotProgress | null = null;
  /** Snapshots requested while streaming; null while the connector does not stream. */
  #incremental: IncrementalSnapshot | null = null;
  /** Tables requested while not streaming, handed over when streaming starts. */
  #requested: string[] = [];
  #client: BinlogClient | null = null;
  #lagMillis: number | null = null;
  /** A first start's position is yielded but not yet acknowledged as stored (see #streamStart). */
  #startUnrecorded = false;
  /** `url` and its candidates: the server read now, and the server ids of the group. */
  readonly #servers: ServerGroup;

  constructor(config: MysqlConnectorConfigInput, logger: Logger = silentLogger) {
    this.#config = decodeMysqlConnectorConfig(config);
    this.name = this.#config.name;
    this.#patterns = parseTablePatterns(this.#config.tables);
    this.#logger = logger.child({ connector: this.name });
    this.#servers = new ServerGroup(this.name, [this.#config.url, ...this.#config.candidates], (url) =>
      this.#connectTo(url),
    );
  }

  /** A connection to the server read now (`url`, or the candidate that is the primary). */
  #connect(): Promise<Connection> {
    return this.#connectTo(this.#servers.current);
  }

  /** With candidates, makes the one that is the primary now the server read (retriable while there is none). */
  async #locate(): Promise<void> {
    const from = await this.#servers.locate();
    if (from === null) return;
    this.#logger.warn(
      { from, to: serverLabel(this.#servers.current) },
      'the primary is another candidate now: capture reads it',
    );
    // The new primary must be set up for capture as the first one was (binlog settings, the user's grants).
    const control = await this.#connect();
    try {
      await checkSource(control, this.#config.flavor, this.#databases);
    } finally {
      await control.end();
    }
  }

  async #connectTo(url: string): Promise<Connection> {
    const parts = mysqlConnectOptions(url);
    try {
      return await mysql.createConnection({
        ...parts,
        dateStrings: true,
        timezone: 'Z',
        supportBigNumbers: true,
        bigNumberStrings: true,
        jsonStrings: true,
        charset: 'utf8mb4',
      });
    } catch (error) {
      throw (
        mysqlSecurityError(error, url, `cannot connect to source ${this.name}`) ??
        asCdcError(error, 'SOURCE_UNREACHABLE', `cannot connect to ${parts.host}:${parts.port}`)
      );
    }
  }

  /** Read from the stream only (config `streamAlso`): not captured tables, never snapshotted. */
  get #streamAlso(): TablePattern[] {
    return parseTablePatterns(this.#config.streamAlso);
  }

  get #databases(): string[] {
    return [...new Set(this.#patterns.map((p) => p.database))];
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    let state: Record<string, unknown> = { ...(resume.state ?? {}) };
    this.#servers.restore(state.groupServerIds);
    const withState = (batch: CaptureBatch): CaptureBatch => {
      if (batch.state === undefined) return batch;
      state = { ...state, ...batch.state };
      return { ...batch, state };
    };
    try {
      const backoff = new Backoff(RECONNECT);
      let ready: { facts: SourceFacts; snapshot: SnapshotState | null } | null = null;
      // Checks and snapshot, retried from the last yielded chunk while the server is unreachable.
      while (ready === null) {
        try {
          await this.#locate();
          const saved = readSnapshotState(state.snapshot);
          const { facts, fresh } = await this.#prepare(resume.position === null && saved === null);
          let snapshot = saved ?? fresh;
          if (snapshot !== null && !snapshot.done) {
            for await (const batch of this.#runSnapshot(snapshot, signal)) yield withState(batch);
            if (signal.aborted) return;
            snapshot = readSnapshotState(state.snapshot);
          }
          ready = { facts, snapshot };
        } catch (error) {
          if (signal.aborted) return;
          if (!isTransientMysqlError(error)) throw error;
          this.#state = 'reconnecting';
          this.#lastError = errorMessage(error);
          const wait = backoff.next();
          this.#logger.warn({ err: this.#lastError, backoffMs: wait }, 'source unreachable; retrying');
          await Backoff.sleep(wait, signal);
        }
      }
      const { start, record } = await this.#streamStart(
        resume.position,
        ready.snapshot,
        readPending(state.pending),
        readString(state.streamFrom),
      );
      if (record !== null) yield withState(record);
      const overlap = SnapshotOverlap.of(
        ready.snapshot,
        this.#config.flavor,
        readStrings(state.overlapTruncated),
      );
      const incremental = new IncrementalSnapshot(
        {
          flavor: this.#config.flavor,
          chunkRows: this.#config.snapshotChunkRows,
          connect: () => this.#connect(),
        },
        readIncrementalState(state.incremental),
      );
      if (this.#requested.length > 0) incremental.add(this.#requested.splice(0));
      this.#incremental = incremental;
      try {
        for await (const batch of this.#streamWithReconnect(start, overlap, signal)) yield withState(batch);
      } finally {
        this.#incremental = null;
        await incremental.reset();
      }
      this.#state = 'stopped';
    } catch (error) {
      if (signal.aborted) {
        this.#state = 'stopped';
        return;
      }
      this.#state = 'failed';
      this.#lastError = errorMessage(error);
      throw error;
    }
  }

  /** Checks the source; on a fresh start with snapshot 'initial' fixes the table list of the snapshot. */
  async #prepare(firstStart: boolean): Promise<{ facts: SourceFacts; fresh: SnapshotState | null }> {
    const control = await this.#connect();
    try {
      const facts = await checkSource(control, this.#config.flavor, this.#databases);
      const fresh =
        firstStart && this.#config.snapshot === 'initial'
          ? freshSnapshotState(await listCapturedTables(control, this.#patterns))
          : null;
      return { facts, fresh };
    } finally {
      await control.end();
    }
  }

  async *#runSnapshot(start: SnapshotState, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    this.#state = 'snapshotting';
    const connection = await this.#connect();
    const begun = Date.now();
    let rowsDone = 0;
    try {
      const rowsTotal = await estimateRows(connection, start.tables);
      const context = {
        connectorName: this.name,
        flavor: this.#config.flavor,
        chunkRows: this.#config.snapshotChunkRows,
        logger: this.#logger,
        onProgress: (progress: SnapshotState, table: string, rows: number) => {
          rowsDone += rows;
          const seconds = Math.max((Date.now() - begun) / 1000, 0.001);
          this.#snapshot = {
            table: progress.done ? null : table,
            tablesDone: progress.tableIndex,
            tablesTotal: progress.tables.length,
            rowsDone: progress.eventIndex,
            rowsTotal: Math.max(rowsTotal, progress.eventIndex),
            rowsPerSecond: Math.round(rowsDone / seconds),
            done: progress.done,
          };
        },
      };
      yield* takeSnapshot(connection, start, context, signal);
    } finally {
      await connection.end();
    }
  }

  /**
   * Where streaming begins. A first start without a snapshot begins at the server's current position and returns
   * it as a batch to record: until that is stored, a restart would begin at a later current position and miss
   * what was written meanwhile, so the connector reads `starting` until the batch is acknowledged.
   */
  async #streamStart(
    position: EventPosition | null,
    snapshot: SnapshotState | null,
    pending: PendingState | null,
    recordedFrom: string | null,
  ): Promise<{ start: StreamStart; record: CaptureBatch | null }> {
    const start = savedStart(this.#config.flavor, position, snapshot, pending, recordedFrom);
    if (start !== null) return { start, record: null };
    const flavor = this.#config.flavor;
    const control = await this.#connect();
    try {
      const from = await currentGtidPosition(control, flavor);
      this.#startUnrecorded = true;
      return {
        start: { from: parseGtidPosition(flavor, from), seq: 0n, skip: null },
        record: {
          events: [],
          commit: { kind: 'binlog', flavor, gtidSet: from, seq: 0n },
          state: { streamFrom: from },
        },
      };
    } finally {
      await control.end();
    }
  }

  async *#streamWithReconnect(
    first: StreamStart,
    overlap: SnapshotOverlap | null,
    signal: AbortSignal,
  ): AsyncGenerator<CaptureBatch> {
    let start = first;
    const backoff = new Backoff(RECONNECT);
    this.#progress = {
      position: first.from,
      seq: first.seq,
      pending: first.skip ? { from: first.from, seq: first.skip.seq, index: first.skip.index } : null,
      lastCommitMillis: null,
    };
    while (!signal.aborted) {
      let control: Connection | null = null;
      let client: BinlogClient | null = null;
      const watching = new AbortController();
      try {
        await this.#locate();
        control = await this.#connect();
        await this.#servers.verifyResume(control, start.from);
        client = new BinlogClient({
          ...mysqlConnectOptions(this.#servers.current),
          serverId: this.#config.serverId,
          gtidSet: formatGtidPosition(start.from),
          databases: [...new Set([...this.#databases, ...this.#streamAlso.map((p) => p.database)])],
          heartbeatPeriodMs: this.#config.heartbeatIntervalMs,
          writeTimeoutSeconds: this.#config.dumpWriteTimeoutSeconds,
        });
        this.#client = client;
        await client.start();
        this.#servers.follow(client, watching.signal, this.#logger);
        this.#state = 'streaming';
        this.#logger.info(
          {
            from: formatGtidPosition(start.from),
            seq: String(start.seq),
            server: serverLabel(this.#servers.current),
          },
          'binlog streaming started',
        );
        const batches = streamTransactions(client.messages(signal), start, {
          connectorName: this.name,
          flavor: this.#config.flavor,
          localServerIds: this.#servers.localServerIds,
          patterns: [...this.#patterns, ...this.#streamAlso],
          maxTransactionEvents: this.#config.maxTransactionEvents,
          heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
          schemas: new SchemaCache(control),
          overlap: overlap === null ? null : { changes: overlap, order: new KeyOrder(control) },
          incremental: this.#incremental,
          logger: this.#logger,
          onProgress: (progress) => {
            this.#progress = progress;
            // Lag as of the last transaction handled: how long after its commit the connector released it.
            if (progress.lastCommitMillis !== null)
              this.#lagMillis = Math.max(0, Date.now() - progress.lastCommitMillis);
          },
        });
        for await (const batch of batches) {
          backoff.reset();
          yield this.#servers.withServerIds(batch);
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (!isTransientMysqlError(error)) throw error;
        this.#state = 'reconnecting';
        this.#lastError = errorMessage(error);
        const wait = backoff.next();
        this.#logger.warn({ err: this.#lastError, backoffMs: wait }, 'binlog stream lost; reconnecting');
        await this.#incremental?.reset();
        const progress = this.#progress;
        start = progress.pending
          ? {
              from: progress.pending.from,
              seq: progress.pending.seq - 1n,
              skip: { seq: progress.pending.seq, index: progress.pending.index },
            }
          : { from: progress.position, seq: progress.seq, skip: null };
        await Backoff.sleep(wait, signal);
      } finally {
        watching.abort();
        client?.stop();
        this.#client = null;
        await control
          ?.end()
          .catch((error: unknown) =>
            this.#logger.debug({ err: errorMessage(error) }, 'closing control connection failed'),
          );
      }
    }
  }

  /** The binlog is kept by the server's own retention; acknowledging only records how far the consumer got. */
  acknowledge(commit: CommitPosition): Promise<void> {
    this.#confirmed = formatCommit(commit);
    this.#startUnrecorded = false;
    return Promise.resolve();
  }

  /** URL of the server read now: `url`, or the candidate that is the primary (for samplers beside capture). */
  get serverUrl(): string {
    return this.#servers.current;
  }

  /** Connection id of the binlog dump on the source, while streaming (for operators and failure tests). */
  get dumpThreadId(): number | null {
    return this.#client?.threadId ?? null;
  }

  status(): ConnectorStatus {
    const progress = this.#progress;
    return {
      name: this.name,
      kind: this.#config.flavor,
      state: this.#state === 'streaming' && this.#startUnrecorded ? 'starting' : this.#state,
      stream: `${this.#config.flavor} binlog as replica server id ${this.#config.serverId}`,
      server: { current: serverLabel(this.#servers.current), candidates: this.#servers.labels },
      confirmed: this.#confirmed,
      received: progress ? `${formatGtidPosition(progress.position)} (seq ${progress.seq})` : null,
      lagBytes: null,
      lagMillis: this.#lagMillis,
      snapshot: this.#incremental?.progress() ?? this.#snapshot,
      lastError: this.#lastError,
    };
  }

  /**
   * Reads `tables` (all captured tables when empty) again while streaming: chunk by chunk, each released into
   * the stream at the position it was read at (snapshot/incremental.ts).
   */
  async requestSnapshot(tables: readonly string[]): Promise<void> {
    const control = await this.#connect();
    let captured: string[];
    try {
      captured = await listCapturedTables(control, this.#patterns);
    } finally {
      await control.end();
    }
    const { wanted, unknown } = requestedTables(captured, tables, this.#databases);
    if (unknown.length > 0) {
      throw new CdcError(
        'SOURCE_TABLE_UNSUPPORTED',
        `cannot snapshot ${unknown.join(', ')}: not an existing table matched by ${this.name}'s tables (${this.#config.tables.join(', ')}); name tables as database.table`,
        { tables: unknown.join(', ') },
      );
    }
    if (this.#incremental) this.#incremental.add(wanted);
    else this.#requested.push(...wanted);
    this.#logger.info({ tables: wanted }, 'snapshot requested');
  }
}
