/**
 * The one place that builds kafkajs clients: our pino logger receives kafkajs's own log lines, and kafkajs
 * errors become CdcErrors (KAFKA_FENCED when another instance took over a transactional id, KAFKA_UNAVAILABLE
 * otherwise). Nothing outside services/kafka imports kafkajs.
 */
import kafkajs from 'kafkajs';
import type { Kafka, LogEntry, ProducerConfig } from 'kafkajs';
import { CdcError, type ErrorFields } from '../common/errors.ts';
import { silentLogger, type Logger } from '../common/logger.ts';

export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: Logger;
}

export function createKafka(config: KafkaClientConfig): Kafka {
  const logger = (config.logger ?? silentLogger).child({ component: 'kafkajs' });
  const { logLevel } = kafkajs;
  return new kafkajs.Kafka({
    brokers: [...config.brokers],
    clientId: config.clientId,
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry): void => {
        const {
          message,
          timestamp: _timestamp,
          logger: _name,
          ...fields
        } = log as { message: string; timestamp?: unknown; logger?: unknown };
        const entry = { kafkajs: namespace, ...fields };
        // kafkajs logs group joins and connection churn at INFO; that is debug detail for us.
        if (level === logLevel.ERROR && !isTopicAlreadyExists(namespace, fields))
          logger.error(entry, message);
        else if (level === logLevel.WARN) logger.warn(entry, message);
        else logger.debug(entry, message);
      },
  });
}

/**
 * kafkajs logs every CreateTopics response with an error at ERROR level, also TOPIC_ALREADY_EXISTS when two
 * processes create the same topic at once. That case is normal, and any other creation error is thrown to the
 * caller of createTopics anyway, so the log line only repeats it: it goes to debug.
 */
function isTopicAlreadyExists(namespace: string, fields: Record<string, unknown>): boolean {
  return namespace === 'Connection' && fields.error === 'Topic creation errors';
}

/** Producer settings shared by every producer we create: kafkajs's default partitioner, without its warning. */
export function producerConfig(config: ProducerConfig): ProducerConfig {
  return { createPartitioner: kafkajs.Partitioners.DefaultPartitioner, ...config };
}

/** Kafka protocol errors meaning this producer's epoch is stale: another instance owns the transactional id. */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);
const FENCED_CODES = new Set([47, 49, 90]);

interface KafkaJsErrorShape {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

function* causeChain(error: unknown): Generator<KafkaJsErrorShape> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 20) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const shape = current as KafkaJsErrorShape;
    yield shape;
    queue.push(shape.cause, shape.originalError);
  }
}

export function isFenced(error: unknown): boolean {
  for (const shape of causeChain(error)) {
    if (shape instanceof CdcError) return shape.code === 'KAFKA_FENCED';
    if (
      (typeof shape.type === 'string' && FENCED_TYPES.has(shape.type)) ||
      (typeof shape.code === 'number' && FENCED_CODES.has(shape.code))
    )
      return true;
  }
  return false;
}

/**
 * Maps anything a kafkajs call threw. A protocol error that Kafka says a retry cannot fix (message too large,
 * authorization) stays non-retriable; connection trouble and exhausted retries are retriable.
 */
export function kafkaError(error: unknown, message: string, fields: ErrorFields = {}): CdcError {
  if (error instanceof CdcError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if (isFenced(error)) {
    return new CdcError('KAFKA_FENCED', `${message}: another instance took over (${detail})`, fields, {
      cause: error,
    });
  }
  let retriable = true;
  for (const shape of causeChain(error)) {
    if (shape.name === 'KafkaJSProtocolError' && shape.retriable === false) retriable = false;
  }
  return new CdcError('KAFKA_UNAVAILABLE', `${message}: ${detail}`, fields, { cause: error, retriable });
}
