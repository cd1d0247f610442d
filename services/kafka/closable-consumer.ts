/**
 * kafkajs consumers that stay stopped once closed.
 *
 * kafkajs's disconnect() does not stop a start under way: a consumer closed while it still finds its
 * coordinator or joins its group goes on after disconnect() returned, connects again and joins (a JoinGroup
 * the coordinator holds for the members of a killed process then keeps the process alive for their session
 * timeout), and then fetches with nobody to stop it. A restart after a crash (kafkajs restarts on a timer) is
 * such a start too. A consumer made here has a client of its own that is sealed when it closes, so whatever
 * kafkajs still runs cannot connect, and it refuses restarts once closed.
 *
 * A fetch waits on the broker for records at most FETCH_MAX_WAIT_MS (the Java consumer's fetch.max.wait.ms)
 * instead of kafkajs's 5 s: disconnect() waits for the fetch in flight, so an idle consumer took up to 5 s to
 * stop, twice over when a second fetch had started. Records still come back as soon as there are any.
 */
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import { siblingClient } from './client.ts';
import { closeWithin } from './closing.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface ClosableConsumer {
  readonly consumer: Consumer;
  /**
   * Disconnects, and keeps the consumer disconnected whatever kafkajs still had under way. A member of its
   * group leaves it, waiting for requests in flight up to CLOSE_GRACE_MS (closing.ts); a consumer still joining
   * is cut off at once, as the coordinator may hold its JoinGroup for a whole session timeout. Never throws.
   */
  close(): Promise<void>;
}

export interface ConsumerLabel {
  /** What the close logs name the consumer by. */
  readonly what?: string;
  readonly logger?: Logger;
}

export const FETCH_MAX_WAIT_MS = 500;

/** A consumer with the settings of `kafka` but a client of its own (sealing it leaves `kafka` alone). */
export function createConsumer(
  kafka: Kafka,
  config: ConsumerConfig,
  label: ConsumerLabel = {},
): ClosableConsumer {
  const own = siblingClient(kafka);
  let closed = false;
  // In its group since the last (re)start: kafkajs's stop() then ends its work, a leave included.
  let joined = false;
  const restartOnFailure = config.retry?.restartOnFailure;
  const consumer = own.consumer({
    maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
    ...config,
    retry: {
      ...config.retry,
      restartOnFailure: async (error: Error) =>
        !closed && (restartOnFailure === undefined || (await restartOnFailure(error))),
    },
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, () => {
    joined = false;
  });
  return {
    consumer,
    async close() {
      closed = true;
      // A member leaves its group first; a start still under way would go on behind the disconnect, so it is
      // cut off at once.
      await closeWithin(
        own,
        label.what ?? `consumer of group ${config.groupId}`,
        () => consumer.disconnect(),
        {
          logger: label.logger ?? silentLogger,
          ...(joined ? { seal: 'after' } : { seal: 'first', graceMs: 0 }),
        },
      );
    },
  };
}
