/**
 * `cdc migrate start --config <file>`: runs the forward migration (MariaDB → Kafka → PostgreSQL) and prints
 * its phase every `--interval` ms: copying (rows done/total), catching-up (lag), in-sync (lag under
 * `--in-sync-lag`). Ends by itself once `cdc migrate cutover` recorded the cutover, or on SIGINT/SIGTERM.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CdcError } from '../../../common/errors.ts';
import { createLogger, logLevel } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { startMigration } from '../../migrate/forward.ts';
import { formatPhase } from '../../migrate/phases.ts';
import { migrationPlan } from '../../migrate/plan.ts';
import { out } from '../output.ts';
import { collectSecrets } from '../../config/redact.ts';

export interface MigrateStartOptions {
  readonly config: string;
  readonly replica?: string;
  readonly inSyncLag: number;
  readonly interval: number;
}

export async function migrateStartCommand(options: MigrateStartOptions): Promise<void> {
  const plan = migrationPlan(await loadConfig(options.config), options.replica);
  const logger = createLogger({
    level: logLevel(plan.config.logLevel),
    name: plan.config.name,
    secrets: collectSecrets(plan.config),
  });
  const migration = await startMigration(plan, logger, { inSyncLagMs: options.inSyncLag });
  out(
    `migration ${plan.name}: MariaDB source ${plan.source.name} → PostgreSQL replica ${plan.replica.name}` +
      (migration.pipeline.apiUrl === null ? '' : ` (status: ${migration.pipeline.apiUrl}/status)`),
  );

  const stopped = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    out(`${signal} received: stopping the migration (nothing is lost; start it again to resume)`);
    stopped.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let cutoverSeen = false;
  void migration.done.then((record) => {
    cutoverSeen = record !== null;
    stopped.abort();
  });
  try {
    while (!stopped.signal.aborted) {
      const phase = migration.phase();
      out(formatPhase(phase));
      if (phase.phase === 'failed') {
        throw new CdcError('STOPPED', `the migration failed: ${phase.error}`, { migration: plan.name });
      }
      await delay(options.interval, undefined, { signal: stopped.signal }).catch((error: unknown) => {
        if (!stopped.signal.aborted) throw error;
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await migration.stop();
  }
  const record = await migration.done;
  if (cutoverSeen && record !== null) {
    out(
      `cutover recorded: source GTID ${record.sourceGtid}, target LSN ${record.targetLsn}; capture from the old source stopped`,
    );
  }
}
