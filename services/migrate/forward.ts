/**
 * The forward half of a migration: the MariaDB source copied (snapshot) and streamed through Kafka into the
 * PostgreSQL replica, with its phase on display. It watches the target for the cutover record and, once a
 * cutover is recorded, stops: capture from the old source ends there (everything up to the fence is applied,
 * and the fenced source writes nothing more).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { startPipeline, type RunningPipeline } from '../pipeline/pipeline.ts';
import { readCutover, type CutoverRecord } from './cutover-record.ts';
import { migrationPhase, type MigrationPhase } from './phases.ts';
import type { MigrationPlan } from './plan.ts';

export interface ForwardOptions {
  /** Lag at or under which the replica counts as in sync (default 1,000 ms). */
  readonly inSyncLagMs?: number;
  /** How often the target is asked whether a cutover was recorded (default 1,000 ms). */
  readonly cutoverPollMs?: number;
  /** Serve the control API (default true). */
  readonly api?: boolean;
}

export interface RunningMigration {
  readonly pipeline: RunningPipeline;
  phase(): MigrationPhase;
  /** Resolves with the cutover once it was recorded and the pipeline stopped; with null after stop(). */
  readonly done: Promise<CutoverRecord | null>;
  stop(): Promise<void>;
}

export async function startMigration(
  plan: MigrationPlan,
  logger: Logger,
  options: ForwardOptions = {},
): Promise<RunningMigration> {
  // Only this migration's source and replica, whatever else the file describes.
  const config = { ...plan.config, sources: [plan.source], replicas: [plan.replica] };
  const pipeline = await startPipeline(config, logger, { api: options.api ?? true });
  const inSyncLagMs = options.inSyncLagMs ?? 1_000;
  const stopWatching = new AbortController();

  const watch = async (): Promise<CutoverRecord | null> => {
    while (!stopWatching.signal.aborted) {
      try {
        const record = await readCutover(plan.replica.url, plan.name);
        if (record !== null) {
          logger.info(
            { sourceGtid: record.sourceGtid, targetLsn: record.targetLsn },
            'cutover recorded: stopping capture from the old source',
          );
          await pipeline.stop();
          return record;
        }
      } catch (error) {
        // The target being briefly unreachable must not end the migration; the apply worker reports it too.
        logger.warn({ error: errorMessage(error) }, 'cannot read the cutover state; trying again');
      }
      await delay(options.cutoverPollMs ?? 1_000, undefined, { signal: stopWatching.signal }).catch(
        (error: unknown) => {
          // stop() aborts the pause; anything else is a real failure.
          if (!stopWatching.signal.aborted) throw error;
        },
      );
    }
    return null;
  };
  const done = watch();

  return {
    pipeline,
    phase: () => migrationPhase(pipeline.connectors()[0], pipeline.workers()[0], inSyncLagMs),
    done,
    async stop() {
      stopWatching.abort();
      await pipeline.stop();
      await done;
    },
  };
}
