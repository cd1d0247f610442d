/**
 * One source's capture: its connector feeding its publisher, kept alive by a supervisor. The connector is
 * built once (it keeps its status across restarts); each restart reads the published position back from Kafka.
 */
import type { ConnectorStatus } from '../api/status-types.ts';
import type { SourceConnector } from '../../connectors/connector.ts';
import { MysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import { PostgresConnector } from '../../connectors/postgres/postgres-connector.ts';
import { replicationApplicationName } from '../../connectors/postgres/replication/replication-session.ts';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { ShutdownSteps } from '../../common/shutdown-steps.ts';
import type { KafkaConfig, SourceConfig } from '../config/schema.ts';
import type { CaptureRule } from '../config/topology-compile.ts';
import { ChangePublisher } from '../kafka/publisher.ts';
import { CaptureLease } from '../kafka/capture-lease.ts';
import { createKafka, isFenced } from '../kafka/client.ts';
import { clusterOf } from '../kafka/security.ts';
import { CaptureProgress } from './capture-progress.ts';
import { filterColumns } from './column-filter.ts';
import { CountedConnector, type CaptureCounts } from './counted-connector.ts';
import { ORIGIN_MARKS } from '../apply/origin-marks.ts';
import { prepareMarkerCapture } from './marker-capture.ts';
import { OriginFilter } from './origin-filter.ts';
import { PauseGate } from './pause-gate.ts';
import { BinlogHealthSampler, type BinlogHealth } from './binlog-health.ts';
import { SlotHealthSampler, type SlotHealth } from './slot-health.ts';
import { Supervisor } from './supervisor.ts';
import { subscriberTopicsOptions } from './subscriber-options.ts';

/** `markerRows`: links into the node may mark with marker rows, which a binlog capture then reads by name. */
/**
 * `haSessionTimeoutMs`: with `ha` on, the lease's session timeout, which also bounds how long a MariaDB/MySQL
 * server keeps writing to a dump connection of a process that froze (so a takeover is not held back longer).
 */
export function buildConnector(
  source: SourceConfig,
  logger: Logger,
  markerRows = false,
  haSessionTimeoutMs: number | null = null,
): SourceConnector {
  switch (source.kind) {
    case 'postgres':
      return new PostgresConnector(
        {
          name: source.name,
          url: source.url,
          publication: source.publication,
          slot: source.slot,
          tables: source.tables,
          createPublication: source.createPublication,
          snapshot: source.snapshot,
          snapshotChunkRows: source.snapshotChunkRows,
          heartbeatIntervalMs: source.heartbeatIntervalMs,
          maxTransactionEvents: source.maxTransactionEvents,
          takeOverSlot: source.ha,
          failoverCandidates: source.failover?.candidates ?? [],
          onSlotLost: source.onSlotLost,
        },
        logger,
      );
    case 'mariadb':
    case 'mysql':
      return new MysqlConnector(
        {
          name: source.name,
          url: source.url,
          candidates: source.candidates ?? [],
          flavor: source.kind,
          serverId: source.serverId,
          tables: source.tables,
          snapshot: source.snapshot,
          snapshotChunkRows: source.snapshotChunkRows,
          heartbeatIntervalMs: source.heartbeatIntervalMs,
          maxTransactionEvents: source.maxTransactionEvents,
          streamAlso: markerRows ? [ORIGIN_MARKS] : [],
          ...(haSessionTimeoutMs === null
            ? {}
            : { dumpWriteTimeoutSeconds: Math.ceil(haSessionTimeoutMs / 1000) }),
        },
        logger,
      );
  }
}

export class CaptureTask {
  readonly name: string;
  readonly connector: CountedConnector;
  /** How far the capture has read its source, for read-your-writes waits. */
  readonly progress: CaptureProgress;
  readonly publisher: ChangePublisher;
  readonly #supervisor: Supervisor;
  /** `ha` sources: whether this process holds the capture lease (null: always captures). */
  readonly #lease: CaptureLease | null;
  /** PostgreSQL sources: the slot's health, sampled beside the capture (also while it is paused). */
  readonly #slotHealth: SlotHealthSampler | null;
  /** MariaDB/MySQL sources: whether the binlog file capture reads is the next to be purged. */
  readonly #binlogHealth: BinlogHealthSampler | null;
  readonly #gate = new PauseGate();
  /** The connector as built, before the wrappers (a re-snapshot after a lost slot is asked of it). */
  readonly #source: SourceConnector;
  /** Set while the capture has failed for good: starts it again (an operator took the re-snapshot). */
  #restartFailed: (() => void) | null = null;
  /** Run before each start of the connector (a topology node links may mark with marker rows). */
  readonly #prepare: () => Promise<void>;

  /**
   * `rule`: the node's capture rule when the source is a topology node (loop prevention, origins named by node);
   * `markerRows`: links into it may mark with marker rows (`auto`: where its user may not use replication
   * origins), which its capture must then read.
   */
  constructor(
    source: SourceConfig,
    kafka: KafkaConfig,
    logger: Logger,
    rule?: CaptureRule,
    markerRows: 'marker-row' | 'auto' | null = null,
  ) {
    this.name = source.name;
    const taskLogger = logger.child({ source: source.name });
    const connector = buildConnector(
      source,
      taskLogger,
      markerRows !== null,
      source.ha ? kafka.sessionTimeoutMs : null,
    );
    this.#source = connector;
    // Origins are read before the column rules, which could otherwise touch a marker row.
    const kept = rule === undefined ? connector : new OriginFilter(connector, rule, markerRows !== null);
    this.progress = new CaptureProgress(filterColumns(kept, source, taskLogger));
    this.connector = new CountedConnector(this.progress);
    this.publisher = new ChangePublisher({
      ...clusterOf(kafka),
      prefix: kafka.topicPrefix,
      connector: source.name,
      clientId: `${kafka.clientId}.capture.${source.name}`,
      ...(source.changelog.mode === 'keyed' ? { keyedPartitions: source.changelog.partitions } : {}),
      compression: kafka.compression,
      maxEventBytes: kafka.maxEventBytes,
      oversizedEvents: kafka.oversizedEvents,
      ...(source.subscriberTopics === undefined
        ? {}
        : { subscriberTopics: subscriberTopicsOptions(source, source.subscriberTopics, kafka.topicPrefix) }),
      logger: taskLogger,
    });
    this.#supervisor = new Supervisor(`capture ${source.name}`, taskLogger);
    this.#lease = source.ha
      ? new CaptureLease({
          kafka: createKafka({
            ...clusterOf(kafka),
            clientId: `${kafka.clientId}.capture-lease.${source.name}`,
            logger: taskLogger,
          }),
          groupId: `${kafka.topicPrefix}.capture.${source.name}.lease`,
          topic: this.publisher.topics.lease,
          sessionTimeoutMs: kafka.sessionTimeoutMs,
          topicSettings: kafka.topicCreation,
          logger: taskLogger,
        })
      : null;
    this.#slotHealth =
      source.kind === 'postgres' && connector instanceof PostgresConnector
        ? new SlotHealthSampler(
            {
              url: () => connector.serverUrl,
              slot: source.slot,
              warnRetainedWalBytes: source.warnRetainedWalBytes,
              synchronousStandby: source.synchronous ? replicationApplicationName(source.name) : null,
              failover:
                source.failover === undefined || source.failover.candidates.length === 0
                  ? null
                  : {
                      urls: [source.url, ...source.failover.candidates],
                      onWarnings: (warnings) => connector.noteFailoverWarnings(warnings),
                    },
            },
            taskLogger,
          )
        : null;
    this.#binlogHealth =
      source.kind === 'postgres'
        ? null
        : new BinlogHealthSampler(
            connector instanceof MysqlConnector ? () => connector.serverUrl : () => source.url,
            () => {
              const read = this.progress.read;
              return read?.kind === 'binlog' ? (read.file ?? null) : null;
            },
            taskLogger,
          );
    this.#prepare =
      markerRows !== null && source.kind === 'postgres'
        ? () => prepareMarkerCapture(source, markerRows)
        : () => Promise.resolve();
  }

  /** Runs until `signal` aborts; `steps` hears what the stop then waits for. */
  async run(signal: AbortSignal, steps: ShutdownSteps = new ShutdownSteps(silentLogger)): Promise<void> {
    const sampled = Promise.all([this.#slotHealth?.run(signal), this.#binlogHealth?.run(signal)]);
    try {
      const capture = async (captureSignal: AbortSignal): Promise<void> => {
        for (;;) {
          await this.#supervisor.run(
            (taskSignal) =>
              this.#gate.run(async (runSignal) => {
                await this.#prepare();
                await this.publisher.run(this.connector, runSignal);
              }, taskSignal),
            captureSignal,
          );
          // Failed for good: an operator's re-snapshot can fix a lost slot, so wait for one. With `ha` the lease
          // decides what happens to a failed capture (it stands by).
          if (captureSignal.aborted || this.#supervisor.state !== 'failed' || this.#lease !== null) return;
          if (!(await this.#restartRequested(captureSignal))) return;
        }
      };
      if (this.#lease === null) await capture(signal);
      else
        await this.#lease.run(async (leaseSignal) => {
          await capture(leaseSignal);
          const failure = this.#supervisor.failure;
          return { fenced: failure !== null && isFenced(failure), failed: failure !== null };
        }, signal);
    } finally {
      // Closed already when a run ended; not when the task stopped between runs (paused, or waiting to retry).
      await steps.step(`capture ${this.name}: Kafka producer`, () => this.publisher.close());
      await sampled;
    }
  }

  /**
   * Stops reading the source until resume(); resolves once the connector stopped. The slot or binlog position
   * and the published position stay where they are, so resume goes on from there.
   */
  pause(): Promise<void> {
    return this.#gate.pause();
  }

  resume(): void {
    this.#gate.resume();
  }

  /**
   * PostgreSQL sources: re-snapshot (a new slot, every captured table copied again replacing the replicas'
   * copies). Restarts the capture, failed or running; a paused one does it on resume. Resolves once asked.
   */
  async resnapshot(): Promise<void> {
    if (!(this.#source instanceof PostgresConnector)) {
      throw new CdcError(
        'OPERATION_UNSUPPORTED',
        `source ${this.name} is not PostgreSQL: a re-snapshot with a new slot is for PostgreSQL sources (POST /snapshots copies tables again on any source)`,
        { source: this.name },
      );
    }
    this.#source.requestResnapshot();
    if (this.#restartFailed !== null) this.#restartFailed();
    else if (!this.#gate.paused) {
      // Stopped the way a pause stops it, and started again: the start does the re-snapshot.
      await this.#gate.pause();
      this.#gate.resume();
    }
  }

  /** Resolves true once resnapshot() asks for a new start, false when `signal` aborts first. */
  #restartRequested(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const end = (restart: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        this.#restartFailed = null;
        resolve(restart);
      };
      const onAbort = (): void => end(false);
      this.#restartFailed = () => end(true);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Events read from the source, events Kafka acknowledged, events diverted for their size, snapshot rows by
   * table, and capture errors: the connector's own reconnects, and the failures of the connector or the
   * publisher that ended a run (the supervisor started it again, or gave up).
   */
  counts(): CaptureCounts & {
    readonly eventsPublished: number;
    readonly eventsOversized: number;
    readonly errors: number;
  } {
    const connector = this.connector.counts();
    const { eventsPublished, eventsOversized } = this.publisher.status();
    const errors = connector.reconnects + this.#supervisor.errors;
    return { ...connector, eventsPublished, eventsOversized, errors };
  }

  binlogHealth(): BinlogHealth | null {
    return this.#binlogHealth?.health() ?? null;
  }

  slotHealth(): SlotHealth | null {
    return this.#slotHealth?.health() ?? null;
  }

  status(): ConnectorStatus {
    const withSlot = this.#connectorStatus();
    const slotWarnings = [
      ...(this.#slotHealth?.health().warnings ?? []),
      ...(this.#slotHealth?.health().synchronousWarnings ?? []),
      ...(this.#binlogHealth?.health().warnings ?? []),
    ];
    const status =
      slotWarnings.length === 0
        ? withSlot
        : { ...withSlot, warnings: [...(withSlot.warnings ?? []), ...slotWarnings] };
    const synchronous = this.#slotHealth?.health().synchronous ?? null;
    const withSync = this.#withLease(synchronous === null ? status : { ...status, synchronous });
    const { eventsOversized } = this.publisher.status();
    if (eventsOversized === 0) return { ...withSync, eventsOversized };
    // Replicas miss those changes: say so where an operator looks, with where to find them.
    const warning = `${eventsOversized} event(s) larger than kafka.maxEventBytes went to ${this.publisher.topics.oversized} instead of the changelog: replicas miss those changes`;
    return { ...withSync, eventsOversized, warnings: [...(status.warnings ?? []), warning] };
  }

  #withLease(status: ConnectorStatus): ConnectorStatus {
    const lease = this.#lease;
    if (lease === null) return status;
    const since = lease.heldSince;
    return {
      ...status,
      lease: {
        state: lease.state,
        heldSince: since === null ? null : new Date(since).toISOString(),
        holder: lease.group?.holder ?? null,
        members: lease.group?.members ?? null,
      },
    };
  }

  #connectorStatus(): ConnectorStatus {
    const status = this.connector.status();
    if (this.#lease !== null && this.#lease.state !== 'active')
      return { ...status, state: 'standby', lastError: this.#supervisor.lastError };
    if (this.#gate.paused && this.#supervisor.state !== 'failed') return { ...status, state: 'paused' };
    // The connector only knows its own failures; a publisher failure (Kafka) shows through the supervisor.
    const supervised = this.#supervisor.state;
    if (supervised === 'failed') return { ...status, state: 'failed', lastError: this.#supervisor.lastError };
    // The connector marks itself failed on any error; while the supervisor has not given up, that error is one
    // it retries, so the connector is reconnecting, not failed.
    if (supervised === 'retrying' || (supervised === 'running' && status.state === 'failed')) {
      return { ...status, state: 'reconnecting', lastError: this.#supervisor.lastError ?? status.lastError };
    }
    // A connector not yet started again after a failure (the publisher is still reaching Kafka): show why.
    if (status.state === 'starting' && status.lastError === null)
      return { ...status, lastError: this.#supervisor.lastError };
    return status;
  }
}
