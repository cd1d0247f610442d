/**
 * Wiring: builds the capture tasks (connector → Kafka) and apply tasks (Kafka → replica) a configuration
 * describes, runs them under one abort signal, and serves the control API over them. A process can run both
 * roles or one of them, so capture and apply can be deployed, scaled and restarted apart.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.ts';
import { listenApi } from '../api/server.ts';
import type { ApplyWorkerStatus, ConnectorStatus, StatusProvider } from '../api/status-types.ts';
import { CdcError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { ShutdownSteps, type PendingPart } from '../../common/shutdown-steps.ts';
import type { PipelineConfig } from '../config/schema.ts';
import { createMetrics, type CdcMetrics } from '../metrics/metrics.ts';
import { deadLetterControl } from '../dlq/dlq-control.ts';
import { ApplyTask } from './apply-task.ts';
import { conflictLister } from './conflict-list.ts';
import { CaptureTask } from './capture-task.ts';
import { MetricsBridge } from './metrics-bridge.ts';
import { resolveOriginMarking } from './topology-origins.ts';
import { markerRowMarking } from '../config/topology-compile.ts';
import { ReplicaWaits } from './replica-wait.ts';
import { regionScope } from './region-scope.ts';
import { verifyReplica } from '../verify/verify-replica.ts';
import { conditionWait } from '../verify/waits.ts';

export type Role = 'capture' | 'apply';

export interface PipelineOptions {
  readonly roles?: readonly Role[];
  /** Serve the control API (default true). */
  readonly api?: boolean;
  /** Run only this region's part of the topology: captures of its nodes, apply workers of links into them. */
  readonly region?: string;
}

export interface RunningPipeline extends StatusProvider {
  readonly metrics: CdcMetrics;
  /** The API's address when it listens, e.g. `http://127.0.0.1:8080`. */
  readonly apiUrl: string | null;
  /** Settles when every task has ended (after stop(), or when all failed). */
  readonly done: Promise<void>;
  /**
   * Stops every task in order (capture first, so nothing new reaches Kafka, then apply) and the API, logging
   * at info what it waits for and how long each part took.
   */
  stop(): Promise<void>;
  /** The parts a stop in progress still waits for (none before stop()). */
  stopping(): readonly PendingPart[];
}

export async function startPipeline(
  config: PipelineConfig,
  logger: Logger,
  options: PipelineOptions = {},
): Promise<RunningPipeline> {
  const roles = new Set(options.roles ?? ['capture', 'apply']);
  const scope = options.region === undefined ? config : regionScope(config, options.region);
  const captures = roles.has('capture')
    ? scope.sources.map(
        (s) =>
          new CaptureTask(
            s,
            config.kafka,
            logger,
            config.topology?.captureRules[s.name],
            config.topology === undefined ? null : markerRowMarking(config.topology, s.name),
          ),
      )
    : [];
  // Which origin marking each link uses, decided and said once at start-up (loop prevention rests on it).
  const replicas =
    config.topology !== undefined && roles.has('apply')
      ? await resolveOriginMarking(config.topology, scope.replicas, logger)
      : scope.replicas;
  const keyed = new Set(config.sources.filter((s) => s.changelog.mode === 'keyed').map((s) => s.name));
  const applies = roles.has('apply')
    ? replicas.map((r) => new ApplyTask(r, config.kafka, logger, keyed.has(r.source)))
    : [];
  const metrics = createMetrics({ processMetrics: true, defaultLabels: { pipeline: config.name } });

  if (config.topology !== undefined && applies.length > 0) {
    // Links into one node would all create its applied-position table on their first batch, at once, and
    // PostgreSQL's CREATE ... IF NOT EXISTS fails against a concurrent twin: prepare the sinks one by one.
    // A target that cannot be reached yet is left to its worker, which retries.
    for (const task of applies)
      await task.sink.prepare().catch((error: unknown) => {
        logger.debug({ replica: task.name, err: error }, 'target not prepared at start-up');
      });
  }
  const captureAbort = new AbortController();
  const applyAbort = new AbortController();
  const steps = new ShutdownSteps(logger);
  const captureRuns = captures.map((task) => task.run(captureAbort.signal, steps));
  const applyRuns = applies.map((task) => task.run(applyAbort.signal, steps));
  const done = Promise.allSettled([...captureRuns, ...applyRuns]).then(() => undefined);

  const status: StatusProvider = {
    connectors: (): ConnectorStatus[] => captures.map((task) => task.status()),
    workers: (): ApplyWorkerStatus[] => applies.map((task) => task.status()),
    requestSnapshot: async (source, tables) => {
      const task = captures.find((candidate) => candidate.name === source);
      if (!task) {
        throw new CdcError(
          'NOT_FOUND',
          `no source named ${JSON.stringify(source)} is captured by this process`,
          { source },
        );
      }
      await task.connector.requestSnapshot(tables);
    },
    setPaused: async (kind, name, paused) => {
      const tasks: readonly (CaptureTask | ApplyTask)[] = kind === 'connector' ? captures : applies;
      const task = tasks.find((candidate) => candidate.name === name);
      if (!task) {
        const what = kind === 'connector' ? 'connector' : 'apply worker';
        const names = tasks.map((candidate) => candidate.name).join(', ') || 'none';
        throw new CdcError(
          'NOT_FOUND',
          `no ${what} named ${JSON.stringify(name)} runs in this process (${what}s: ${names})`,
          { name },
        );
      }
      if (paused) await task.pause();
      else task.resume();
    },
    resnapshot: async (source) => {
      const task = captures.find((candidate) => candidate.name === source);
      if (!task) {
        const names = captures.map((candidate) => candidate.name).join(', ') || 'none';
        throw new CdcError(
          'NOT_FOUND',
          `no connector named ${JSON.stringify(source)} runs in this process (connectors: ${names})`,
          { source },
        );
      }
      await task.resnapshot();
    },
  };
  // Differing ranges of a live replica are read again after its apply worker made progress (or 5 s passed).
  status.verify = (request, options = {}) => {
    const applied = () =>
      applies.find((task) => task.name === request.replica)?.status().appliedPosition ?? null;
    return verifyReplica(config, request, {
      ...options,
      logger,
      signal: applyAbort.signal,
      recheck: {
        attempts: 3,
        wait: conditionWait(applied, (start) => applied() !== start, {
          timeoutMs: 5_000,
          signal: applyAbort.signal,
        }),
      },
    });
  };
  const waits = new ReplicaWaits({
    config,
    captures,
    applies,
    logger,
    maxWaiters: config.api.waitConcurrency,
  });
  status.waitForReplica = (replica, position, timeoutMs, signal) =>
    waits.wait(replica, position, timeoutMs, AbortSignal.any([signal, applyAbort.signal]));
  const lagBounds = new Map(
    replicas.flatMap((r) => (r.readyMaxLagMs === undefined ? [] : [[r.name, r.readyMaxLagMs] as const])),
  );
  status.readyLagBounds = () => lagBounds;
  const bridge = new MetricsBridge(metrics, captures, applies);
  const dlq = deadLetterControl(config, {
    logger,
    sinkOf: (replica) => applies.find((task) => task.name === replica)?.sink,
  });

  let app: FastifyInstance | null = null;
  let apiUrl: string | null = null;
  if (options.api ?? true) {
    // Scrapes see the tasks' counters as of the scrape.
    const scraped: CdcMetrics = { ...metrics, render: () => (bridge.refresh(), metrics.render()) };
    app = await buildApp({
      status,
      metrics: scraped,
      logger,
      config,
      dlq,
      conflicts: conflictLister(config.replicas),
    });
    apiUrl = await listenApi(app, config.api);
    logger.info({ apiUrl }, 'control API listening');
  }

  return {
    ...status,
    metrics,
    apiUrl,
    done,
    stopping: () => steps.pending(),
    async stop() {
      captureAbort.abort();
      await Promise.all(captureRuns.map((run, i) => steps.step(`capture ${captures[i]?.name}`, () => run)));
      await steps.step('dead-letter replays', () => dlq.close());
      applyAbort.abort();
      await Promise.all(applyRuns.map((run, i) => steps.step(`apply ${applies[i]?.name}`, () => run)));
      if (app !== null) await steps.step('control API', () => app.close());
      await waits.close();
    },
  };
}
