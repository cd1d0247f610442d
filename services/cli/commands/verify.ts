/**
 * `cdc verify --config <file> --replica <name> [--tables a,b] [--chunk-rows n]`: compares the replica with
 * its source straight from the databases in the configuration (no running pipeline needed) and prints the
 * report. Differing ranges are read again `--recheck` times, `--recheck-delay` ms apart, for replicas that
 * are being written while they are verified. Resolves false when something differs.
 */
import { loadConfig } from '../../config/load.ts';
import { silentLogger } from '../../../common/logger.ts';
import { verifyReplica } from '../../verify/verify-replica.ts';
import { delayWait } from '../../verify/waits.ts';
import { out } from '../output.ts';
import { formatVerifyReport } from '../verify-format.ts';

export interface VerifyCommandOptions {
  readonly config: string;
  readonly replica: string;
  readonly tables?: readonly string[];
  readonly chunkRows?: number;
  readonly recheck?: number;
  readonly recheckDelay?: number;
  readonly json?: boolean;
}

export async function verifyCommand(options: VerifyCommandOptions): Promise<boolean> {
  const config = await loadConfig(options.config);
  const report = await verifyReplica(
    config,
    {
      replica: options.replica,
      ...(options.tables !== undefined ? { tables: options.tables } : {}),
      ...(options.chunkRows !== undefined ? { chunkRows: options.chunkRows } : {}),
    },
    {
      // Everything the log would say is in the report; stdout holds nothing else.
      logger: silentLogger,
      ...(options.recheck !== undefined && options.recheck > 0
        ? { recheck: { attempts: options.recheck, wait: delayWait(options.recheckDelay ?? 2_000) } }
        : {}),
    },
  );
  out(options.json ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
  return report.equal;
}
