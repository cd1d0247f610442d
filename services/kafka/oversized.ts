/**
 * Events larger than kafka.maxEventBytes. Kafka refuses a record batch above the topic's `max.message.bytes`
 * for good, so publishing such an event could never succeed: the transaction would fail on every retry while
 * the source keeps its log. Instead it is caught before sending, and either stops capture with an error that
 * says which row and what to change (`fail`), or goes to the side topic `<prefix>.<connector>.oversized` by
 * key and reason, in the same Kafka transaction as the events around it, so capture goes on (`sideTopic`).
 * Replicas then miss that change: the side topic says which row to look at.
 */
import type { Message } from 'kafkajs';
import { rowKey, type ChangeEvent, type Value } from '../../schemas/events/change-event.ts';
import { tableId } from '../../schemas/events/table-schema.ts';
import { formatPosition } from '../../schemas/positions/position.ts';
import { CdcError } from '../../common/errors.ts';

export const OVERSIZED_POLICIES = ['fail', 'sideTopic'] as const;
export type OversizedPolicy = (typeof OVERSIZED_POLICIES)[number];

export interface EventSizeLimit {
  /** Most bytes of one encoded event (key, value and headers, before compression). */
  readonly maxEventBytes: number;
  readonly policy: OversizedPolicy;
  /** Where `sideTopic` sends them. */
  readonly sideTopic: string;
}

/** The event's key values as JSON text (64-bit integers as decimal text, bytes as hex), or null without a key. */
function keyText(event: ChangeEvent): string | null {
  const row = event.after ?? event.before;
  if (row === null || event.table.key.length === 0) return null;
  return JSON.stringify(rowKey(event.table, row), (_name, value: Value | undefined) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
    return value;
  });
}

function reason(bytes: number, limit: EventSizeLimit): string {
  return `the event is ${bytes} bytes encoded, more than kafka.maxEventBytes (${limit.maxEventBytes})`;
}

export function oversizedError(event: ChangeEvent, bytes: number, limit: EventSizeLimit): CdcError {
  const key = keyText(event);
  const table = tableId(event.table);
  const position = formatPosition(event.source.position);
  return new CdcError(
    'EVENT_TOO_LARGE',
    `${event.op} event on ${table} ${key === null ? '(no key)' : `key ${key}`} at ${position}: ${reason(bytes, limit)}. ` +
      `Raise kafka.maxEventBytes (topics are created and raised to match), or set kafka.oversizedEvents: sideTopic ` +
      `to send such events to ${limit.sideTopic} by key and keep capturing`,
    { table, key: key ?? '', position, bytes, limit: limit.maxEventBytes },
  );
}

/** The side-topic record of an oversized event: its changelog key, and what it was, as JSON and headers. */
export function sideTopicMessage(
  event: ChangeEvent,
  key: Buffer,
  bytes: number,
  limit: EventSizeLimit,
): Message {
  const table = tableId(event.table);
  const position = formatPosition(event.source.position);
  const why = reason(bytes, limit);
  const value = {
    table,
    op: event.op,
    key: keyText(event),
    position,
    txId: event.source.txId,
    bytes,
    maxEventBytes: limit.maxEventBytes,
    reason: why,
  };
  const headers: Record<string, string> = {
    'cdc.position': position,
    'cdc.table': table,
    'cdc.op': event.op,
    'cdc.reason': why,
  };
  return { key, value: JSON.stringify(value), partition: 0, headers };
}
