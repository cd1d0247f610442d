/**
 * The level at which one of kafkajs's own log lines reaches our log. kafkajs logs at ERROR every protocol
 * error a broker answered, also those it then retries by itself: a topic not yet hosted right after it was
 * created, a leader or coordinator being elected or loading, a transaction still finishing. A new pipeline's
 * first seconds printed a wall of them. Those are debug detail; other retriable protocol errors are warnings,
 * and so are the two a consumer answers by rejoining its group (its member or generation is no longer known,
 * after a rebalance or a session timeout, as when a standby takes over a capture lease); only the rest stays
 * an error. Whatever kafkajs cannot finish by retrying is thrown to our code anyway, which
 * reports it in its own words.
 */
import { createRequire } from 'node:module';

export type KafkaLogLevel = 'error' | 'warn' | 'debug';

interface ProtocolErrorCode {
  readonly type: string;
  readonly retriable: boolean;
  readonly message: string;
}

const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: readonly ProtocolErrorCode[];
};

/** Transient states of a cluster that is starting, creating topics or moving leadership: kafkajs waits them out. */
const SETTLING = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'CONCURRENT_TRANSACTIONS',
  'REBALANCE_IN_PROGRESS',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'FETCH_SESSION_ID_NOT_FOUND',
]);

/** Not retriable for kafkajs's retry loop, but a consumer recovers from them by rejoining its group. */
const REJOIN = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']);

/** Longest messages first, so a message that contains a shorter one is recognized as itself. */
const RETRIABLE = errorCodes
  .filter((code) => (code.retriable || REJOIN.has(code.type)) && code.message !== '')
  .toSorted((a, b) => b.message.length - a.message.length);

/** The retriable protocol error a kafkajs log line reports, if any (by its message, which is all it carries). */
function retriableProtocolError(message: string, fields: Readonly<Record<string, unknown>>): string | null {
  const texts = [message, typeof fields.error === 'string' ? fields.error : ''];
  const found = RETRIABLE.find((code) => texts.some((text) => text.includes(code.message)));
  return found?.type ?? null;
}

/** Where a kafkajs ERROR line belongs (WARN and lower lines keep or lower their level in the caller). */
export function kafkaErrorLineLevel(
  message: string,
  fields: Readonly<Record<string, unknown>>,
): KafkaLogLevel {
  const type = retriableProtocolError(message, fields);
  if (type === null) return 'error';
  return SETTLING.has(type) ? 'debug' : 'warn';
}
