/**
 * One replica's apply worker: the changelog consumer of its source, the target sink and the dead-letter
 * topic, kept alive by a supervisor. The consumer group is named after the replica, so each replica keeps its
 * own Kafka offsets (the position stored in the replica remains the truth).
 */
import { ApplyWorker } from '../apply/apply-worker.ts';
import { MysqlSink } from '../apply/mysql/mysql-sink.ts';
import { PostgresSink } from '../apply/postgres/postgres-sink.ts';
import type { Sink } from '../apply/sink.ts';
import type { ConflictSettings } from '../apply/conflicts/types.ts';
import type { ApplyWorkerStatus } from '../api/status-types.ts';
import type { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { ShutdownSteps } from '../../common/shutdown-steps.ts';
import {
  defaultOriginName,
  defaultServerId,
  type KafkaConfig,
  type ReplicaConfig,
} from '../config/schema.ts';
import { BacklogSampler } from '../kafka/backlog.ts';
import { ChangeConsumer, type UndecodableRecord } from '../kafka/consumer.ts';
import { DeadLetterPublisher } from '../kafka/dead-letter.ts';
import { clusterOf } from '../kafka/security.ts';
import { SerialSink } from '../dlq/serial-sink.ts';
import { changelogSource } from './changelog-source.ts';
import { conflictSettings } from './conflict-settings.ts';
import { PauseGate } from './pause-gate.ts';
import { Supervisor } from './supervisor.ts';
import { TrackedFeed } from './tracked-feed.ts';

function withConflicts(replica: ReplicaConfig): { conflicts?: ConflictSettings } {
  const conflicts = conflictSettings(replica);
  return conflicts ? { conflicts } : {};
}

export function buildSink(replica: ReplicaConfig, logger: Logger): Sink {
  switch (replica.kind) {
    case 'postgres':
      return new PostgresSink({
        url: replica.url,
        replicationOrigin: replica.origin,
        originName: replica.originName ?? defaultOriginName(replica.source, replica.name),
        ...(replica.originsByNode !== undefined ? { originsByNode: replica.originsByNode } : {}),
        ...(replica.targetSchema !== undefined ? { targetSchema: replica.targetSchema } : {}),
        // `auto` left undecided (outside a topology, or its target not checked at start-up) marks natively.
        originMarking: replica.originMarking === 'marker-row' ? 'marker-row' : 'native',
        ...withConflicts(replica),
        logger,
      });
    case 'mariadb': {
      // A database in the URL holds every replicated table; without one, each source schema becomes a database.
      const database = decodeURIComponent(new URL(replica.url).pathname.replace(/^\//, ''));
      return new MysqlSink({
        url: replica.url,
        flavor: 'mariadb',
        ...(database !== '' ? { targetDatabase: database } : {}),
        // Replicated writes carry a server id of their own, stable per replica, so binlog capture of this
        // replica reports them with that origin (needs BINLOG REPLAY; `origin: false` turns it off).
        ...(!replica.origin
          ? {}
          : replica.originMarking === 'marker-row'
            ? { originMarkRow: String(defaultServerId(`replica:${replica.name}`)) }
            : { originServerId: defaultServerId(`replica:${replica.name}`) }),
        logger,
      });
    }
  }
}

/** How long a stop waits for the target transaction in flight before cutting it off (a fifth of the default shutdown timeout). */
const TARGET_STOP_GRACE_MS = 4_000;

/**
 * How long an event read from a mirror (`replicas[].via`) waits for its schema to be mirrored too: MirrorMaker 2
 * copies each topic on its own, a few seconds apart at worst on a healthy mirror.
 */
const MIRRORED_SCHEMA_GRACE_MS = 60_000;

export class ApplyTask {
  readonly name: string;
  readonly #replica: ReplicaConfig;
  readonly #worker: ApplyWorker;
  readonly #deadLetters: DeadLetterPublisher;
  readonly #sink: SerialSink;
  /** The sink under #sink, which a stop can close without waiting for its turn (#interruptOnStop). */
  readonly #target: Sink;
  readonly #logger: Logger;
  readonly #supervisor: Supervisor;
  readonly #feed: TrackedFeed;
  readonly #backlog: BacklogSampler;
  readonly #gate = new PauseGate();
  /** The worker's error count when it last made progress: errors up to it are recovered from. */
  #errorsAtProgress = 0;
  /** Records dead-lettered because no event could be decoded from them (the worker never saw them). */
  #undecodable = 0;

  /** `keyed`: the source's changelog is keyed (sources[].changelog), so each partition is applied on its own. */
  constructor(replica: ReplicaConfig, kafka: KafkaConfig, logger: Logger, keyed = false) {
    this.name = replica.name;
    this.#replica = replica;
    const taskLogger = logger.child({ replica: replica.name, source: replica.source });
    this.#deadLetters = new DeadLetterPublisher({
      ...clusterOf(kafka),
      prefix: kafka.topicPrefix,
      connector: replica.source,
      replica: replica.name,
      clientId: `${kafka.clientId}.dlq.${replica.name}`,
      maxEventBytes: kafka.maxEventBytes,
      logger: taskLogger,
    });
    // The changelog may be a copy in another cluster (replicas[].via); the group is kept where it is read.
    const changelog = changelogSource(replica, kafka);
    const groupId = `${kafka.topicPrefix}.apply.${replica.name}`;
    const consumer = new ChangeConsumer({
      ...clusterOf(changelog),
      groupId,
      topics: [changelog.changelog],
      prefix: changelog.prefix,
      sessionTimeoutMs: kafka.sessionTimeoutMs,
      // A mirror copies the schema topic apart from the changelog: an event may come before its schema.
      schemaGraceMs: replica.via !== undefined ? MIRRORED_SCHEMA_GRACE_MS : 0,
      clientId: `${kafka.clientId}.apply.${replica.name}`,
      logger: taskLogger,
      // A record no event can be decoded from goes to the dead-letter topic like an event that cannot be
      // applied; with `onError: 'stop'` it stops the worker instead.
      ...(replica.onError === 'dead-letter'
        ? {
            onUndecodable: async (record: UndecodableRecord, error: CdcError) => {
              await this.#deadLetters.publishUndecodable(record, error);
              this.#undecodable++;
            },
          }
        : {}),
    });
    // Sampled apart from the worker, so a paused or restarting worker's backlog is known too.
    this.#backlog = new BacklogSampler({
      ...clusterOf(changelog),
      groupId,
      topic: changelog.changelog,
      clientId: `${kafka.clientId}.backlog.${replica.name}`,
      logger: taskLogger,
      consumed: (partition) => consumer.consumedOffset(changelog.changelog, partition),
    });
    // The worker's progress (a batch done, or consuming started) marks earlier errors as recovered from.
    this.#feed = new TrackedFeed(consumer, () => {
      this.#errorsAtProgress = this.#worker.status().errors;
    });
    // Shared with dead-letter replay (services/dlq), which must write through the same target session.
    this.#target = buildSink(replica, taskLogger);
    this.#sink = new SerialSink(this.#target);
    this.#logger = taskLogger;
    this.#worker = new ApplyWorker({
      stream: replica.source,
      feed: this.#feed,
      sink: this.#sink,
      deadLetters: this.#deadLetters,
      onError: replica.onError,
      batch: replica.batch,
      logger: taskLogger,
      keyed,
    });
    this.#supervisor = new Supervisor(`apply ${replica.name}`, taskLogger);
  }

  /** Runs until `signal` aborts; `steps` hears what the stop then waits for, part by part. */
  async run(signal: AbortSignal, steps: ShutdownSteps = new ShutdownSteps(silentLogger)): Promise<void> {
    // The sampler stops with the worker, not after it: a sample in flight must not hold the worker's stop up.
    const sampled = this.#backlog.run(signal);
    const interrupt = this.#interruptOnStop(signal);
    try {
      await this.#supervisor.run(
        (taskSignal) => this.#gate.run((runSignal) => this.#worker.run(runSignal), taskSignal),
        signal,
      );
    } finally {
      interrupt.abort();
      await steps.step(`apply ${this.name}: backlog sampler`, () => sampled);
      await steps.step(`apply ${this.name}: target connection`, () => this.#sink.close());
      await steps.step(`apply ${this.name}: dead-letter producer`, () => this.#deadLetters.close());
    }
  }

  /**
   * After a stop, the worker finishes the target transaction in hand (it checks the signal between them). One
   * that is still running after TARGET_STOP_GRACE_MS (a large source transaction applied whole, row checks of
   * conflict handling) is cut off: closing its connection makes the target roll it back, and as its applied
   * position was to commit with it, the restart applies it again, whole and once. Answers the controller that
   * cancels this once the run ended.
   */
  #interruptOnStop(signal: AbortSignal): AbortController {
    const done = new AbortController();
    const cut = (): void => {
      const timer = setTimeout(() => {
        // Something else holds the stop up (the consumer leaving its group): the steps of the stop name it.
        if (!this.#sink.applying) return;
        this.#logger.info(
          { graceMs: TARGET_STOP_GRACE_MS },
          `the target transaction in flight did not finish within ${TARGET_STOP_GRACE_MS} ms of the stop: its connection is closed, so it rolls back and is applied again after a restart`,
        );
        this.#target.close().catch((error: unknown) => {
          this.#logger.debug({ err: error }, 'closing the target connection under a transaction failed');
        });
      }, TARGET_STOP_GRACE_MS);
      done.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    };
    if (signal.aborted) cut();
    else signal.addEventListener('abort', cut, { once: true });
    done.signal.addEventListener('abort', () => signal.removeEventListener('abort', cut), { once: true });
    return done;
  }

  /** The replica's sink; dead-letter replay writes through it, taking turns with the apply worker. */
  get sink(): Sink {
    return this.#sink;
  }

  /**
   * Stops applying until resume(); resolves once the worker committed what it applied and left its consumer
   * group. What is not applied yet stays in Kafka, and resume goes on from the replica's applied position.
   */
  pause(): Promise<void> {
    return this.#gate.pause();
  }

  resume(): void {
    this.#gate.resume();
  }

  status(): ApplyWorkerStatus {
    const worker = this.#worker.status();
    const supervised = this.#supervisor.state;
    // The worker marks itself failed on any error; only the supervisor knows whether it gave up (failed) or
    // starts the worker again (starting, with the error as lastError).
    const state =
      supervised === 'failed'
        ? 'failed'
        : supervised === 'stopped'
          ? 'stopped'
          : this.#gate.paused
            ? 'paused'
            : supervised === 'running' && worker.state === 'running'
              ? 'running'
              : 'starting';
    const backlog = this.#backlog.backlog();
    const lag = this.#feed.lag(backlog);
    return {
      name: this.name,
      source: this.#replica.source,
      state,
      appliedPosition: worker.appliedPosition,
      lagMillis: lag.endToEndMillis,
      endToEndLagMillis: lag.endToEndMillis,
      hopLagMillis: lag.hopMillis,
      backlogEvents: backlog.events,
      eventsApplied: worker.eventsApplied,
      transactionsApplied: worker.transactionsApplied,
      errors: worker.errors,
      deadLetters: worker.deadLetters + this.#undecodable,
      lastError: this.#lastError(worker.errors, worker.lastError),
    };
  }

  /**
   * The error that explains the worker's present state, or null once it recovered: the worker and the
   * supervisor keep their last error, but one from before the worker's latest progress is history (the log
   * has it, and the errors count keeps growing).
   */
  #lastError(errors: number, workerError: string | null): string | null {
    if (this.#supervisor.state !== 'running') return this.#supervisor.lastError ?? workerError;
    if (errors > this.#errorsAtProgress) return workerError;
    // Started again after a failure, and not consuming yet: the failure is why.
    return this.#feed.consuming ? null : this.#supervisor.lastError;
  }
}
