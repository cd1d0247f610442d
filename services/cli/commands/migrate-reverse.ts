/**
 * `cdc migrate reverse --config <file>`: after the cutover, replicates the new PostgreSQL primary back into the
 * old MariaDB database from the slot created at cutover, until SIGINT/SIGTERM; a status line every `--interval`
 * ms shows what was applied and how many forward-origin events were kept from looping back.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CdcError } from '../../../common/errors.ts';
import { createLogger, logLevel } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { migrationPlan } from '../../migrate/plan.ts';
import { startReverse, type ReverseStatus } from '../../migrate/reverse.ts';
import { out } from '../output.ts';
import { collectSecrets } from '../../config/redact.ts';

export interface MigrateReverseOptions {
  readonly config: string;
  readonly replica?: string;
  readonly interval: number;
}

export async function migrateReverseCommand(options: MigrateReverseOptions): Promise<void> {
  const plan = migrationPlan(await loadConfig(options.config), options.replica);
  const logger = createLogger({
    level: logLevel(plan.config.logLevel),
    name: `${plan.config.name}-back`,
    secrets: collectSecrets(plan.config),
  });
  const reverse = await startReverse(plan, logger);
  out(
    `reverse replication of ${plan.name}: PostgreSQL ${plan.replica.name} → MariaDB ${plan.source.name}, from LSN ${reverse.cutover.targetLsn} (slot ${reverse.cutover.slot})`,
  );
  const stopped = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    out(`${signal} received: stopping reverse replication`);
    stopped.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped.signal.aborted) {
      const status = reverse.status();
      out(formatReverse(status));
      if (status.capture.state === 'failed' || status.apply.state === 'failed') {
        const error = status.capture.lastError ?? status.apply.lastError ?? 'no error reported';
        throw new CdcError('STOPPED', `reverse replication failed: ${error}`, { migration: plan.name });
      }
      await delay(options.interval, undefined, { signal: stopped.signal }).catch((error: unknown) => {
        if (!stopped.signal.aborted) throw error;
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await reverse.stop();
  }
}

function formatReverse(status: ReverseStatus): string {
  const { capture, apply } = status;
  return (
    `reverse: capture ${capture.state} at ${capture.confirmed ?? '-'}, apply ${apply.state} at ${apply.appliedPosition ?? '-'}, ` +
    `lag ${apply.lagMillis ?? '-'} ms, ${apply.eventsApplied} changes applied, ${status.loopEventsDropped} forward-origin events dropped`
  );
}
