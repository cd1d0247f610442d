/**
 * Turning a changelog record into the event it holds: at once when its writer schema is in memory, otherwise
 * after reading the schema topic, or into the DECODE_FAILED/SCHEMA_UNKNOWN error that says why it holds none.
 */
import type { KafkaMessage } from 'kafkajs';
import { decodeEvent, schemaIdOf } from '../../schemas/avro/codec.ts';
import type { WriterSchema } from '../../schemas/avro/writer-schema.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import { CdcError, errorMessage, type ErrorFields } from '../../common/errors.ts';
import type { SchemaStore } from './schema-store.ts';

export interface ConsumedEvent {
  readonly event: ChangeEvent;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The record's timestamp (CreateTime: when the publisher sent it into this topic), epoch ms. */
  readonly publishedMillis?: number;
  /** The message as it was in Kafka, for the dead-letter topic. */
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
}

/** The common case without a promise per record: a value whose schema is in memory and which decodes. */
export function decodeKnown(
  topic: string,
  partition: number,
  message: KafkaMessage,
  lookup: (id: string) => WriterSchema | undefined,
): ConsumedEvent | null {
  const value = message.value;
  if (value === null) return null;
  let id: string;
  try {
    id = schemaIdOf(value);
  } catch {
    return null; // decodeMessage reports it
  }
  if (lookup(id) === undefined) return null;
  try {
    return consumedEvent(topic, partition, message, value, decodeEvent(message.key, value, lookup));
  } catch {
    // Left to decodeMessage, which decodes again and reports why it fails.
    return null;
  }
}

/** The event in a record, or the DECODE_FAILED/SCHEMA_UNKNOWN error saying why there is none. */
export async function decodeMessage(
  topic: string,
  partition: number,
  message: KafkaMessage,
  schemas: SchemaStore,
  lookup: (id: string) => WriterSchema | undefined,
): Promise<ConsumedEvent | CdcError> {
  const where = `${topic}/${partition}@${message.offset}`;
  const fields = { topic, partition, offset: message.offset };
  const value = message.value;
  if (value === null) return new CdcError('DECODE_FAILED', `record without a value at ${where}`, fields);
  let id: string;
  try {
    id = schemaIdOf(value);
  } catch (error) {
    return undecodable(error, where, fields);
  }
  // Only a schema missing from memory costs a wait: the store reads its topic up to the current end. A Kafka
  // failure on the way is no property of the record and stops the run.
  if (schemas.cached(id) === undefined && (await schemas.lookup(id)) === undefined) {
    return new CdcError('SCHEMA_UNKNOWN', `schema ${id} of ${where} is not in ${schemas.topic}`, {
      ...fields,
      schemaId: id,
    });
  }
  try {
    return consumedEvent(topic, partition, message, value, decodeEvent(message.key, value, lookup));
  } catch (error) {
    return undecodable(error, where, fields);
  }
}

function consumedEvent(
  topic: string,
  partition: number,
  message: KafkaMessage,
  value: Buffer,
  event: ChangeEvent,
): ConsumedEvent {
  const { offset, key, timestamp } = message;
  return { event, topic, partition, offset, publishedMillis: Number(timestamp), key, value };
}

function undecodable(error: unknown, where: string, fields: ErrorFields): CdcError {
  return new CdcError('DECODE_FAILED', `cannot decode ${where}: ${errorMessage(error)}`, fields, {
    cause: error,
  });
}
