/**
 * `cdc migrate cutover --config <file> [--fence read-only|operator]`: fences the MariaDB source, waits until the
 * PostgreSQL replica applied everything up to the source's final GTID position, verifies every table, creates
 * the reverse slot and records the cutover (which stops a running `cdc migrate start`). Prints the position at
 * which PostgreSQL took over. A failed cutover releases the fence it set and says so.
 */
import { createLogger } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { cutover, type CutoverReport, type FenceMode } from '../../migrate/cutover.ts';
import { migrationPlan } from '../../migrate/plan.ts';
import { out } from '../output.ts';
import { collectSecrets } from '../../config/redact.ts';

export interface MigrateCutoverOptions {
  readonly config: string;
  readonly replica?: string;
  readonly fence: FenceMode;
  readonly timeout: number;
}

export async function migrateCutoverCommand(options: MigrateCutoverOptions): Promise<void> {
  const plan = migrationPlan(await loadConfig(options.config), options.replica);
  // Progress lines go to stdout; the log only carries warnings, so the two do not interleave.
  const logger = createLogger({
    level: 'warn',
    name: plan.config.name,
    secrets: collectSecrets(plan.config),
  });
  const report = await cutover(plan, {
    fence: options.fence,
    timeoutMs: options.timeout,
    logger,
    onProgress: (line) => out(line),
  });
  out(formatCutover(report));
}

export function formatCutover(report: CutoverReport): string {
  const { record } = report;
  const fence =
    record.fence === 'read-only'
      ? 'the old source stays read-only (SET GLOBAL read_only = OFF undoes it)'
      : 'writers on the old source were stopped by the operator';
  return [
    `cutover complete: PostgreSQL is the primary of ${record.migration}`,
    `  source (MariaDB) final GTID position: ${record.sourceGtid}`,
    `  target (PostgreSQL) LSN at takeover:  ${record.targetLsn}`,
    `  reverse replication slot:            ${record.slot} (publication ${record.publication})`,
    `  caught up in ${report.catchUpMs} ms; final verify EQUAL over ${report.verify.tables.length} tables`,
    `  ${fence}`,
    `next: point the applications at PostgreSQL; cdc migrate reverse keeps the old database following it`,
  ].join('\n');
}
