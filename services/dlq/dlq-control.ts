/**
 * Dead letters of a running pipeline, for the API (`GET /dlq`, `POST /dlq/replay`, `GET /dlq/replay`): lists
 * them, and runs one replay at a time per replica in the background, whose progress the API reports. A replay
 * writes through the sink of the replica's apply worker when this process runs it (so both take turns on one
 * target session and one replication origin), or through a sink of its own otherwise.
 */
import { CdcError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { Sink } from '../apply/sink.ts';
import type { PipelineConfig, ReplicaConfig } from '../config/schema.ts';
import { DeadLetterTopic } from '../kafka/dlq-reader.ts';
import { SchemaStore } from '../kafka/schema-store.ts';
import { clusterOf } from '../kafka/security.ts';
import { buildSink } from '../pipeline/apply-task.ts';
import { changelogSource } from '../pipeline/changelog-source.ts';
import { listDeadLetters, type DeadLetterPage } from './list.ts';
import { replayDeadLetters, type ReplayProgress } from './replay.ts';

export type { DeadLetterPage, ReplayProgress };

export interface DeadLetterListRequest {
  /** May be left out when the pipeline has one replica. */
  readonly replica?: string;
  readonly table?: string;
  readonly from?: bigint;
  readonly limit?: number;
}

export interface DeadLetterControl {
  list(request: DeadLetterListRequest): Promise<DeadLetterPage>;
  /**
   * Starts a replay of the replica's dead letters and resolves once it runs (with its first progress); a
   * replay of that replica already running is answered with its progress instead of starting another.
   */
  replay(replica?: string): Promise<ReplayProgress>;
  /** The replica's running or last replay in this process, or null. */
  replayStatus(replica?: string): ReplayProgress | null;
  /** Stops running replays (after their current target transaction) and waits for them. */
  close(): Promise<void>;
}

export interface DeadLetterControlOptions {
  readonly logger: Logger;
  /** The sink of the replica's apply worker, when this process runs it. */
  readonly sinkOf?: (replica: string) => Sink | undefined;
}

interface Job {
  progress: ReplayProgress | null;
  readonly started: PromiseWithResolvers<ReplayProgress>;
  done: Promise<void>;
}

export function deadLetterControl(
  config: PipelineConfig,
  options: DeadLetterControlOptions,
): DeadLetterControl {
  const abort = new AbortController();
  const jobs = new Map<string, Job>();
  const kafka = { ...clusterOf(config.kafka), prefix: config.kafka.topicPrefix };

  const replicaNamed = (name: string | undefined): ReplicaConfig => {
    const names = config.replicas.map((replica) => replica.name);
    if (name === undefined) {
      const [only, ...others] = config.replicas;
      if (only !== undefined && others.length === 0) return only;
      throw new CdcError('REQUEST_INVALID', `name the replica (replicas: ${names.join(', ') || 'none'})`, {});
    }
    const replica = config.replicas.find((candidate) => candidate.name === name);
    if (replica === undefined)
      throw new CdcError(
        'NOT_FOUND',
        `no replica named ${JSON.stringify(name)} (replicas: ${names.join(', ') || 'none'})`,
        { replica: name },
      );
    return replica;
  };
  const topicOf = (replica: ReplicaConfig): DeadLetterTopic =>
    new DeadLetterTopic({ ...kafka, source: replica.source, logger: options.logger });

  const run = async (replica: ReplicaConfig, job: Job): Promise<void> => {
    const logger = options.logger.child({ replica: replica.name });
    const topic = topicOf(replica);
    // Dead letters hold the changelog's records as they were: their schemas are where the changelog is read.
    const source = changelogSource(replica, config.kafka);
    const schemas = new SchemaStore({ ...clusterOf(source), prefix: source.prefix, logger });
    const shared = options.sinkOf?.(replica.name);
    const sink = shared ?? buildSink(replica, logger);
    try {
      await replayDeadLetters({
        replica: replica.name,
        source: replica.source,
        topic,
        schemas,
        sink,
        signal: abort.signal,
        logger,
        onProgress: (progress) => {
          job.progress = progress;
          job.started.resolve(progress);
        },
      });
    } finally {
      topic.close();
      const closed = await Promise.allSettled([
        shared === undefined ? sink.close() : undefined,
        schemas.close(),
      ]);
      for (const result of closed)
        if (result.status === 'rejected')
          logger.warn({ err: result.reason as unknown }, 'closing after the replay failed');
    }
  };

  return {
    async list(request) {
      const replica = replicaNamed(request.replica);
      const topic = topicOf(replica);
      try {
        return await listDeadLetters(topic, {
          replica: replica.name,
          ...(request.table !== undefined ? { table: request.table } : {}),
          ...(request.from !== undefined ? { from: request.from } : {}),
          ...(request.limit !== undefined ? { limit: request.limit } : {}),
        });
      } finally {
        topic.close();
      }
    },

    async replay(name) {
      const replica = replicaNamed(name);
      if (abort.signal.aborted)
        throw new CdcError('STOPPED', 'the pipeline is stopping; no replay starts now', {});
      const running = jobs.get(replica.name);
      if (running !== undefined && (running.progress === null || running.progress.state === 'running'))
        return running.progress ?? running.started.promise;
      const job: Job = { progress: null, started: Promise.withResolvers(), done: Promise.resolve() };
      // A failure before the first progress is the caller's answer; a later one is in the progress and the log.
      job.done = run(replica, job).catch((error: unknown) => job.started.reject(error));
      jobs.set(replica.name, job);
      return job.started.promise;
    },

    replayStatus(name) {
      return jobs.get(replicaNamed(name).name)?.progress ?? null;
    },

    async close() {
      abort.abort();
      await Promise.all([...jobs.values()].map((job) => job.done));
    },
  };
}
