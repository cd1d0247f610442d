/**
 * The one place that builds kafkajs clients: our pino logger receives kafkajs's own log lines, and kafkajs
 * errors become CdcErrors (KAFKA_FENCED when another instance took over a transactional id, KAFKA_UNAVAILABLE
 * otherwise). Nothing outside services/kafka imports kafkajs.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import kafkajs from './kafkajs.ts';
import type { ISocketFactory, Kafka, LogEntry, ProducerConfig, RetryOptions } from 'kafkajs';
import { registerCompressionCodecs } from './compression.ts';
import { CdcError, type ErrorFields } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { kafkaErrorLineLevel } from './log-levels.ts';
import { kafkajsSecurity, type KafkaCluster } from './security.ts';
import { causeChain, type KafkaJsErrorShape } from './cause-chain.ts';
import { securityError } from './security-errors.ts';

export interface KafkaClientConfig extends KafkaCluster {
  readonly clientId: string;
  readonly logger?: Logger;
  /** kafkajs's retry settings for this client (default kafkajs's: 300 ms first wait, doubling, 5 retries). */
  readonly retry?: RetryOptions;
}

/**
 * kafkajs 2.2.4 reschedules its pending-request check after every response even when nothing is pending, with
 * a negative delay, so every broker connection polls every millisecond for as long as it lives (kafkajs issues
 * 1704 and 1751; Node 24 prints TimeoutNegativeWarning for it). Nothing pending means nothing to check: a
 * request queued later schedules its own check. Patched here, where every client is made, until a release
 * fixes it.
 */
interface RequestQueueShape {
  pending: unknown[];
  scheduleCheckPendingRequests: (this: RequestQueueShape) => void;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: RequestQueueShape;
};
const scheduleCheck = RequestQueue.prototype.scheduleCheckPendingRequests;
RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
  if (this.pending.length > 0) scheduleCheck.call(this);
};

const LEFTOVER_SOCKET = 'closed: still open after its client was disconnected';
const SEALED_CLIENT = 'refused: its client was closed for good';

/** A client's broker sockets not closed yet, and whether it may still open any. */
interface ClientSockets {
  readonly config: KafkaClientConfig;
  readonly open: Set<net.Socket>;
  sealed: boolean;
}

const clients = new WeakMap<Kafka, ClientSockets>();

/** Every broker socket of the process not closed yet, with the client that opened it. */
const processSockets = new Map<net.Socket, string>();

/**
 * The broker sockets still open in this process and the client id of each: when a stop leaves one open, the
 * client names the part of the pipeline that did not close it.
 */
export function openKafkaSockets(): { readonly clientId: string; readonly localPort: number | undefined }[] {
  return [...processSockets].map(([socket, clientId]) => ({ clientId, localPort: socket.localPort }));
}

/**
 * kafkajs's own socket factory (TCP keep-alive after 60 s), remembering each socket until it closes. A sealed
 * client gets a socket that fails at once instead, without ever connecting.
 */
function trackingSocketFactory(client: ClientSockets): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    if (client.sealed) {
      const refused = new net.Socket();
      // kafkajs listens for errors once the factory returned.
      process.nextTick(() => refused.destroy(new Error(SEALED_CLIENT)));
      return refused;
    }
    const socket =
      ssl !== undefined && ssl !== null
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
        : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    client.open.add(socket);
    processSockets.set(socket, client.config.clientId);
    socket.once('close', () => {
      client.open.delete(socket);
      processSockets.delete(socket);
    });
    return socket;
  };
}

/**
 * Closes the sockets a client still holds after every producer, consumer and admin made from it was
 * disconnected. kafkajs can orphan a broker connection while it recovers from a broker restart (it drops the
 * broker from its pool without closing the connection); such a socket would keep the process alive. Returns
 * how many there were.
 */
export function destroyLeftoverSockets(kafka: Kafka): number {
  const client = clients.get(kafka);
  if (client === undefined) return 0;
  const count = client.open.size;
  // With an error, so kafkajs's own handler disconnects the connection and stops its request-queue timers
  // (a plain destroy leaves the connection marked connected and its timers running).
  for (const socket of client.open) socket.destroy(new Error(LEFTOVER_SOCKET));
  client.open.clear();
  return count;
}

/**
 * From now on the client opens no broker connection: each one it asks for fails at once. For a client whose
 * only user closed while kafkajs may still run a step that user began: a consumer's start goes on after its
 * disconnect returned, finds the coordinator again and rejoins the group.
 */
export function sealClient(kafka: Kafka): void {
  const client = clients.get(kafka);
  if (client !== undefined) client.sealed = true;
}

/** A new client with the settings `kafka` was made with (its own sockets, so it can be sealed on its own). */
export function siblingClient(kafka: Kafka): Kafka {
  const client = clients.get(kafka);
  if (client === undefined) throw new CdcError('INTERNAL', 'a Kafka client not made by createKafka');
  return createKafka(client.config);
}

export function createKafka(config: KafkaClientConfig): Kafka {
  registerCompressionCodecs();
  const logger = (config.logger ?? silentLogger).child({ component: 'kafkajs' });
  const { logLevel } = kafkajs;
  const client: ClientSockets = { config, open: new Set(), sealed: false };
  const kafka = new kafkajs.Kafka({
    brokers: [...config.brokers],
    clientId: config.clientId,
    ...kafkajsSecurity(config),
    ...(config.retry !== undefined ? { retry: config.retry } : {}),
    socketFactory: trackingSocketFactory(client),
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
        if (level === logLevel.ERROR && !isTopicAlreadyExists(namespace, fields) && !isLeftover(message))
          logger[kafkaErrorLineLevel(message, fields)](entry, message);
        else if (level === logLevel.WARN) logger.warn(entry, message);
        else logger.debug(entry, message);
      },
  });
  clients.set(kafka, client);
  return kafka;
}

/**
 * kafkajs logs every CreateTopics response with an error at ERROR level, also TOPIC_ALREADY_EXISTS when two
 * processes create the same topic at once. That case is normal, and any other creation error is thrown to the
 * caller of createTopics anyway, so the log line only repeats it: it goes to debug.
 */
function isTopicAlreadyExists(namespace: string, fields: Record<string, unknown>): boolean {
  return namespace === 'Connection' && fields.error === 'Topic creation errors';
}

/**
 * kafkajs reports a leftover socket we closed (destroyLeftoverSockets) and a connection a sealed client refused
 * as connection errors: debug detail.
 */
function isLeftover(message: string): boolean {
  return message.includes(LEFTOVER_SOCKET) || message.includes(SEALED_CLIENT);
}

/** Producer settings shared by every producer we create: kafkajs's default partitioner, without its warning. */
export function producerConfig(config: ProducerConfig): ProducerConfig {
  return { createPartitioner: kafkajs.Partitioners.DefaultPartitioner, ...config };
}

/** Kafka protocol errors meaning this producer's epoch is stale: another instance owns the transactional id. */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);
const FENCED_CODES = new Set([47, 49, 90]);

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
 * Group membership errors: the coordinator forgot this member (its session expired, for example while the
 * broker restarted) or moved to a new generation. kafkajs marks some non-retriable, but a consumer that joins
 * again fixes them; what was applied but not committed is redelivered, which the sinks skip by position.
 */
const REJOIN_TYPES = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS']);
const REJOIN_CODES = new Set([25, 22, 27]);

function isRejoin(shape: KafkaJsErrorShape): boolean {
  return (
    (typeof shape.type === 'string' && REJOIN_TYPES.has(shape.type)) ||
    (typeof shape.code === 'number' && REJOIN_CODES.has(shape.code))
  );
}

/**
 * The group membership error in `error`'s cause chain, as kafkajs raised it (with its `type`, which kafkajs's
 * consumer runner checks to rejoin the group), or null when there is none.
 */
export function groupMembershipError(error: unknown): Error | null {
  for (const shape of causeChain(error)) {
    if (shape instanceof Error && isRejoin(shape)) return shape;
  }
  return null;
}

/**
 * Maps anything a kafkajs call threw (an error of ours in it is kept as it is). A protocol error that Kafka says a retry cannot fix (message too large,
 * authorization) stays non-retriable, and so do TLS and SASL failures (security-errors.ts); connection
 * trouble, exhausted retries and group membership errors are retriable.
 */
export function kafkaError(error: unknown, message: string, fields: ErrorFields = {}): CdcError {
  // One of ours, raised inside kafkajs (a patched part of it) and wrapped by its retries, says more than they do.
  for (const shape of causeChain(error)) if (shape instanceof CdcError) return shape;
  const security = securityError(error, message, fields);
  if (security !== null) return security;
  const detail = error instanceof Error ? error.message : String(error);
  if (isFenced(error)) {
    return new CdcError('KAFKA_FENCED', `${message}: another instance took over (${detail})`, fields, {
      cause: error,
    });
  }
  let retriable = true;
  for (const shape of causeChain(error)) {
    if (shape.name === 'KafkaJSProtocolError' && shape.retriable === false && !isRejoin(shape))
      retriable = false;
  }
  return new CdcError('KAFKA_UNAVAILABLE', `${message}: ${detail}`, fields, { cause: error, retriable });
}
