/**
 * Closing a kafkajs client without hanging the shutdown. kafkajs's disconnect waits for every request still in
 * flight on each broker connection before it closes it: a JoinGroup the coordinator holds until the members of
 * a previous process time out (up to the session timeout and beyond), a fetch waiting for records, an offset
 * fetch of the backlog sampler. Past a grace period the client's sockets are closed instead, which fails those
 * requests and lets the disconnect finish. Nothing is lost by it: offsets and transactions were committed
 * before, or were not, and a member that could not leave its group is dropped by the broker after its session.
 */
import type { Kafka } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import { destroyLeftoverSockets, sealClient } from './client.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';

/** How long a disconnect may wait for requests in flight by default: a fetch waits at most 5 s on the broker. */
export const CLOSE_GRACE_MS = 10_000;

/**
 * Runs `disconnect`, closes the client's sockets when it has not finished within `graceMs` (0: at once), and
 * then any socket still open. With `seal`, the client opens no connection afterwards (sealClient): from the start
 * (`'first'`, for a client whose work under way must not reach the broker again, such as a consumer still
 * joining its group), or once the disconnect is over or given up (`'after'`). Logs how long it took, and what it
 * did when it had to force. Never throws: a failed disconnect is logged, as there is nothing left to retry at
 * shutdown.
 */
export async function closeWithin(
  kafka: Kafka,
  what: string,
  disconnect: () => Promise<void>,
  options: { readonly logger: Logger; readonly graceMs?: number; readonly seal?: 'first' | 'after' },
): Promise<void> {
  const { logger } = options;
  const graceMs = options.graceMs ?? CLOSE_GRACE_MS;
  const started = Date.now();
  if (options.seal === 'first') sealClient(kafka);
  const closed = disconnect().then(
    () => null,
    (error: unknown) => ({ error }),
  );
  const timer = new AbortController();
  const late = await Promise.race([
    closed.then(() => false),
    delay(graceMs, true, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  if (late) {
    if (options.seal !== undefined) sealClient(kafka);
    const sockets = destroyLeftoverSockets(kafka);
    logger.info(
      { what, graceMs, sockets },
      `closing ${what} still waited for requests in flight after ${graceMs} ms: its connections were closed`,
    );
  }
  const failure = await closed;
  if (options.seal !== undefined) sealClient(kafka);
  // Sockets kafkajs orphaned (see destroyLeftoverSockets) would keep the process alive.
  destroyLeftoverSockets(kafka);
  if (failure !== null) logger.warn({ what, error: errorMessage(failure.error) }, `closing ${what} failed`);
  logger.info({ what, ms: Date.now() - started }, `${what} closed`);
}
