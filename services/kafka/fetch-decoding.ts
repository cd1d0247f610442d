/**
 * Puts our record decoding (record-set-decoding.ts) in kafkajs's place for Fetch responses, as
 * produce-encoding.ts does for Produce requests (request-definitions.ts says how). Only version 11, which kafkajs
 * 2.2.4 uses with every broker since Kafka 2.3, gets our response decoding; its envelope is read as kafkajs reads
 * it, with kafkajs's own Decoder, and each partition's records by our decoder, or by kafkajs's where ours
 * declines (compressed batches, legacy message sets).
 */
import { createRequire } from 'node:module';
import { decodeRecordSet } from './record-set-decoding.ts';
import { wrapRequestDefinition } from './request-definitions.ts';

/** kafkajs's Decoder, as far as the Fetch v11 envelope needs it. */
interface Decoder {
  offset: number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readString(): string;
  readBytes(length: number): Buffer;
  canReadBytes(length: number): boolean;
  readArray<T>(reader: (decoder: Decoder) => T): T[];
  readArrayAsync<T>(reader: (decoder: Decoder) => Promise<T>): Promise<T[]>;
}

interface ResponseShape {
  readonly decode: (rawData: Buffer) => Promise<unknown>;
}

const INSTALLED = Symbol.for('cdc-stream.fetch-decoding');
const DECODED_VERSION = 11;

const require = createRequire(import.meta.url);
const KafkaDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => Decoder;
/** kafkajs's decoding of a RECORDS field, for what ours declines. */
const kafkajsDecodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
  decoder: Decoder,
) => Promise<unknown[]>;

/** Idempotent: the first call replaces kafkajs's Fetch v11 response decoding for the whole process. */
export function installFetchDecoding(): void {
  wrapRequestDefinition<object, { response: ResponseShape }>(
    'kafkajs/src/protocol/requests/fetch/index.js',
    INSTALLED,
    (build, version) => {
      if (version !== DECODED_VERSION) return build;
      return (args) => {
        const built = build(args);
        return { ...built, response: { ...built.response, decode: decodeFetchV11 } };
      };
    },
  );
}

/** kafkajs's fetch/v11/response.js `decode`, with the records decoded by `decodeRecords`. */
export async function decodeFetchV11(rawData: Buffer): Promise<unknown> {
  const decoder = new KafkaDecoder(rawData);
  const clientSideThrottleTime = decoder.readInt32();
  const errorCode = decoder.readInt16();
  const sessionId = decoder.readInt32();
  const responses = await decoder.readArrayAsync(async (topic) => ({
    topicName: topic.readString(),
    partitions: await topic.readArrayAsync(async (partition) => ({
      partition: partition.readInt32(),
      errorCode: partition.readInt16(),
      highWatermark: partition.readInt64().toString(),
      lastStableOffset: partition.readInt64().toString(),
      lastStartOffset: partition.readInt64().toString(),
      abortedTransactions: partition.readArray((aborted) => ({
        producerId: aborted.readInt64().toString(),
        firstOffset: aborted.readInt64().toString(),
      })),
      preferredReadReplica: partition.readInt32(),
      messages: await decodeRecords(partition),
    })),
  }));
  // As kafkajs: the broker has not throttled this request; a client-side throttle time asks us to wait.
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

/** A partition's RECORDS field: ours where we decode it, kafkajs's decodeMessages otherwise. */
async function decodeRecords(decoder: Decoder): Promise<unknown[]> {
  const start = decoder.offset;
  const size = decoder.readInt32();
  if (size <= 0 || !decoder.canReadBytes(size)) return [];
  const records = decodeRecordSet(decoder.readBytes(size));
  if (records !== null) return records;
  decoder.offset = start;
  return kafkajsDecodeMessages(decoder);
}
