/**
 * `cdc run --config <file>`: starts the pipeline and runs it until SIGINT or SIGTERM, then stops it in order
 * (capture first, then apply) so that nothing acknowledged is lost.
 */
import { createLogger, logLevel } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { startPipeline, type Role } from '../../pipeline/pipeline.ts';

export async function runCommand(options: {
  config: string;
  role?: readonly Role[];
  region?: string;
}): Promise<void> {
  const config = await loadConfig(options.config);
  const logger = createLogger({ level: logLevel(config.logLevel), name: config.name });
  const pipeline = await startPipeline(config, logger, {
    ...(options.role ? { roles: options.role } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
  });
  logger.info({ api: pipeline.apiUrl }, `pipeline ${config.name} started`);

  let stopRequested = false;
  let stopping = Promise.resolve();
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    logger.info(`${signal} received: stopping pipeline ${config.name}`);
    stopping = pipeline.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await pipeline.done;
    await stopping;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  logger.info(`pipeline ${config.name} stopped`);
}
