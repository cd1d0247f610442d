/**
 * `cdc run --config <file>`: starts the pipeline and runs it until SIGINT or SIGTERM, then stops it in order
 * (capture first, then apply) so that nothing acknowledged is lost. The stop is bounded by `shutdownTimeoutMs`:
 * an orchestrator SIGKILLs a process that outlives its grace period anyway, and a process that says what it was
 * still waiting for (the parts of the stop not done, or the handles keeping it alive once they all are) points
 * at the defect, where a SIGKILL says nothing. A second signal ends the process at once (Node's default).
 */
import { createLogger, logLevel, type Logger } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { openKafkaSockets } from '../../kafka/client.ts';
import { startPipeline, type Role, type RunningPipeline } from '../../pipeline/pipeline.ts';
import { collectSecrets } from '../../config/redact.ts';

/** Exit code of a stop that did not finish within shutdownTimeoutMs (the command line's "failed"). */
const EXIT_STOP_TIMED_OUT = 1;

export async function runCommand(options: {
  config: string;
  role?: readonly Role[];
  region?: string;
}): Promise<void> {
  const config = await loadConfig(options.config);
  const logger = createLogger({
    level: logLevel(config.logLevel),
    name: config.name,
    secrets: collectSecrets(config),
  });
  // The handlers go in before the start: a signal that arrives while the pipeline starts (it connects, creates
  // topics, joins groups: seconds) is remembered and stops it as soon as it has started, instead of Node's
  // default ending the process mid-start.
  let pipeline: RunningPipeline | null = null;
  let stopRequested = false;
  let stopping = Promise.resolve();
  let stopStarted = 0;
  const beginStop = (running: RunningPipeline) => {
    watchShutdown(running, logger, config.shutdownTimeoutMs);
    stopping = running.stop();
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    stopStarted = Date.now();
    logger.info(
      { shutdownTimeoutMs: config.shutdownTimeoutMs },
      pipeline === null
        ? `${signal} received while pipeline ${config.name} starts: stopping it once started`
        : `${signal} received: stopping pipeline ${config.name}`,
    );
    if (pipeline !== null) beginStop(pipeline);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    pipeline = await startPipeline(config, logger, {
      ...(options.role ? { roles: options.role } : {}),
      ...(options.region !== undefined ? { region: options.region } : {}),
    });
    logger.info({ api: pipeline.apiUrl }, `pipeline ${config.name} started`);
    if (stopRequested) beginStop(pipeline);
    await pipeline.done;
    await stopping;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  logger.info(
    stopRequested ? { ms: Date.now() - stopStarted } : {},
    stopRequested ? 'shutdown done' : `every task of pipeline ${config.name} ended`,
  );
  logger.info(`pipeline ${config.name} stopped`);
}

/**
 * Ends the process when the stop has not let it exit within `timeoutMs`, after logging what it still waits for.
 * The timer does not hold the process up itself: once everything closed, the process exits before it fires.
 */
function watchShutdown(pipeline: RunningPipeline, logger: Logger, timeoutMs: number): void {
  const timer = setTimeout(() => {
    const pending = pipeline.stopping();
    const resources = liveResources();
    logger.error(
      { shutdownTimeoutMs: timeoutMs, waitingFor: pending, activeResources: resources },
      pending.length > 0
        ? `shutdown did not finish within ${timeoutMs} ms; still waiting for: ${pending.map((p) => p.part).join(', ')}`
        : `shutdown did not finish within ${timeoutMs} ms: every part stopped, but the process is kept alive by ${resources.join(', ') || 'nothing known'}`,
    );
    logger.flush();
    process.exit(EXIT_STOP_TIMED_OUT);
  }, timeoutMs);
  timer.unref();
}

interface SocketShape {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localPort?: number;
}

/**
 * What keeps the event loop alive besides the watchdog's own timer: socket peers (which server a connection
 * left open goes to names its owner: Kafka, the source, the target), and the kinds of the other handles.
 * Node lists handles only through an undocumented call; without it, the kinds alone.
 */
function liveResources(): string[] {
  const kinds = process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout');
  const handles = (process as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  // A Kafka socket is named by the client that opened it (capture, apply, dead letters, ...).
  const kafka = new Map(openKafkaSockets().map((socket) => [socket.localPort, socket.clientId]));
  const peers = handles
    .filter((handle): handle is SocketShape => typeof handle === 'object' && handle !== null)
    .filter((socket) => socket.remoteAddress !== undefined)
    .map((socket) => {
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      const client = kafka.get(socket.localPort);
      return client === undefined ? `socket to ${peer}` : `socket to ${peer} of Kafka client ${client}`;
    });
  return peers.length > 0 ? [...peers, ...kinds.filter((kind) => kind !== 'TCPSocketWrap')] : kinds;
}
