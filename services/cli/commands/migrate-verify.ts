/**
 * `cdc migrate verify --config <file> [--reverse]`: compares every migrated table of the PostgreSQL replica with
 * the MariaDB source (with `--reverse`: the old MariaDB database with the new PostgreSQL primary) in key-range
 * chunks. The migration is usually live, so differing ranges are read again `--recheck` times, `--recheck-delay`
 * ms apart, before they count. Resolves false when something differs.
 */
import { silentLogger } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { migrationPlan, reverseConfig } from '../../migrate/plan.ts';
import { verifyReplica } from '../../verify/verify-replica.ts';
import { delayWait } from '../../verify/waits.ts';
import { out } from '../output.ts';
import { formatVerifyReport } from '../verify-format.ts';

export interface MigrateVerifyOptions {
  readonly config: string;
  readonly replica?: string;
  readonly reverse?: boolean;
  readonly chunkRows: number;
  readonly recheck: number;
  readonly recheckDelay: number;
  readonly json?: boolean;
}

export async function migrateVerifyCommand(options: MigrateVerifyOptions): Promise<boolean> {
  const plan = migrationPlan(await loadConfig(options.config), options.replica);
  const config = options.reverse === true ? reverseConfig(plan) : plan.config;
  const replica = options.reverse === true ? plan.reverse.replicaName : plan.replica.name;
  const report = await verifyReplica(
    config,
    { replica, chunkRows: options.chunkRows },
    {
      logger: silentLogger,
      ...(options.recheck > 0
        ? { recheck: { attempts: options.recheck, wait: delayWait(options.recheckDelay) } }
        : {}),
    },
  );
  out(options.json === true ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
  return report.equal;
}
