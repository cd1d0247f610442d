/**
 * kafkajs consumers that stay stopped once closed.
 *
 * kafkajs restarts a crashed consumer on a timer. A restart already under way when disconnect() runs can still
 * join its group and open broker connections afterwards (seen when the broker restarts): the member then keeps
 * consuming, and its sockets keep the process alive. A consumer made here refuses restarts once closed, and
 * one that still joins its group or crashes after closing is disconnected again.
 *
 * A fetch waits on the broker for records at most FETCH_MAX_WAIT_MS (the Java consumer's fetch.max.wait.ms)
 * instead of kafkajs's 5 s: disconnect() waits for the fetch in flight, so an idle consumer took up to 5 s to
 * stop, twice over when a second fetch had started. Records still come back as soon as there are any.
 */
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

export interface ClosableConsumer {
  readonly consumer: Consumer;
  /** Disconnects, and keeps the consumer disconnected whatever restart was under way. */
  close(): Promise<void>;
}

export const FETCH_MAX_WAIT_MS = 500;

export function createConsumer(kafka: Kafka, config: ConsumerConfig): ClosableConsumer {
  let closed = false;
  const restartOnFailure = config.retry?.restartOnFailure;
  const consumer = kafka.consumer({
    maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
    ...config,
    retry: {
      ...config.retry,
      restartOnFailure: async (error: Error) =>
        !closed && (restartOnFailure === undefined || (await restartOnFailure(error))),
    },
  });
  const disconnectAgain = (): void => {
    if (closed) setImmediate(() => void consumer.disconnect().catch(() => undefined));
  };
  consumer.on(consumer.events.GROUP_JOIN, disconnectAgain);
  consumer.on(consumer.events.CRASH, disconnectAgain);
  return {
    consumer,
    async close() {
      closed = true;
      await consumer.disconnect();
    },
  };
}
