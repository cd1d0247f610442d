/**
 * The way back: after the cutover, the new PostgreSQL primary is captured from the slot made at cutover and its
 * changes are applied to the old MariaDB database, so a fallback finds it current. Capture goes through the
 * origin filter (pipeline/origin-filter.ts) so nothing the forward stream wrote returns to where it came from; the
 * MariaDB apply marks its writes with its own server id, so a later forward capture could tell them apart too.
 */
import { ApplyTask } from '../pipeline/apply-task.ts';
import { buildConnector } from '../pipeline/capture-task.ts';
import { OriginFilter } from '../pipeline/origin-filter.ts';
import { Supervisor } from '../pipeline/supervisor.ts';
import type { ApplyWorkerStatus, ConnectorStatus } from '../api/status-types.ts';
import { CdcError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { PipelineConfig } from '../config/schema.ts';
import { ChangePublisher } from '../kafka/publisher.ts';
import { clusterOf } from '../kafka/security.ts';
import { readCutover, type CutoverRecord } from './cutover-record.ts';
import { reverseConfig, type MigrationPlan } from './plan.ts';

export interface ReverseStatus {
  readonly capture: ConnectorStatus;
  readonly apply: ApplyWorkerStatus;
  /** Events of forward-origin transactions kept from going back. */
  readonly loopEventsDropped: number;
}

export interface RunningReverse {
  readonly cutover: CutoverRecord;
  readonly config: PipelineConfig;
  status(): ReverseStatus;
  /** Settles when both tasks ended (after stop(), or when both failed). */
  readonly done: Promise<void>;
  /** Stops capture first, then apply, so nothing published is left half-applied. */
  stop(): Promise<void>;
}

export async function startReverse(plan: MigrationPlan, logger: Logger): Promise<RunningReverse> {
  const cutover = await readCutover(plan.replica.url, plan.name);
  if (cutover === null) {
    throw new CdcError(
      'MIGRATION_STATE',
      `${plan.name} has no recorded cutover: run cdc migrate cutover first (the reverse path starts at the slot it creates)`,
      { migration: plan.name },
    );
  }
  const config = reverseConfig(plan);
  const [source] = config.sources;
  const [replica] = config.replicas;
  if (source === undefined || replica === undefined || source.kind !== 'postgres') {
    throw new CdcError('INTERNAL', 'the reverse configuration lost its source or replica', {});
  }
  if (source.slot !== cutover.slot) {
    throw new CdcError(
      'MIGRATION_STATE',
      `the cutover created slot ${cutover.slot}, but this configuration derives ${source.slot}: was the replica renamed after the cutover?`,
      { slot: cutover.slot },
    );
  }
  const captureLogger = logger.child({ source: source.name, direction: 'reverse' });
  const connector = new OriginFilter(buildConnector(source, captureLogger), {
    origins: {},
    drop: [plan.forwardOrigin],
  });
  const publisher = new ChangePublisher({
    ...clusterOf(config.kafka),
    prefix: config.kafka.topicPrefix,
    connector: source.name,
    clientId: `${config.kafka.clientId}.capture.${source.name}`,
    logger: captureLogger,
  });
  const capture = new Supervisor(`capture ${source.name}`, captureLogger);
  const apply = new ApplyTask(replica, config.kafka, logger.child({ direction: 'reverse' }));

  const captureAbort = new AbortController();
  const applyAbort = new AbortController();
  const captureRun = capture
    .run((signal) => publisher.run(connector, signal), captureAbort.signal)
    .finally(() => publisher.close());
  const applyRun = apply.run(applyAbort.signal);
  const done = Promise.allSettled([captureRun, applyRun]).then(() => undefined);

  return {
    cutover,
    config,
    done,
    status() {
      const status = connector.status();
      return {
        capture:
          capture.state === 'failed'
            ? { ...status, state: 'failed', lastError: capture.lastError ?? status.lastError }
            : status,
        apply: apply.status(),
        loopEventsDropped: connector.dropped,
      };
    },
    async stop() {
      captureAbort.abort();
      await Promise.allSettled([captureRun]);
      applyAbort.abort();
      await Promise.allSettled([applyRun]);
    },
  };
}
