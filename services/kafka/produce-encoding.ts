/**
 * Puts our Produce request encoding (produce-request.ts) in kafkajs's place (request-definitions.ts says how).
 * Everything but `encode` stays kafkajs's: its response parsing, sequence numbers, retries and transactions.
 * Compressed sends and messages with timestamps keep kafkajs's own encoding.
 */
import { createRequire } from 'node:module';
import { encodeProduceRequest, type ProduceRequest } from './produce-request.ts';
import { wrapRequestDefinition } from './request-definitions.ts';

/** The part of a kafkajs request we touch; the rest is passed through as it is. */
interface RequestShape {
  readonly encode: () => Promise<unknown>;
}

interface ProduceArgs extends ProduceRequest {
  readonly compression?: number;
}

type BuildProduce = (args: ProduceArgs) => { request: RequestShape; response: unknown };

/** kafkajs's Encoder: the request framing copies `buffer` (bytes `0..offset` of `buf`) after the header. */
interface EncoderShape {
  buf: Buffer;
  offset: number;
}

const INSTALLED = Symbol.for('cdc-stream.produce-encoding');
/** Produce v3 introduced record batches (magic 2); v4 to v7 only change what the broker may answer. */
const FIRST_RECORD_BATCH_VERSION = 3;
const NO_COMPRESSION = 0;

const require = createRequire(import.meta.url);

/** Idempotent: the first call replaces kafkajs's Produce encoding for the whole process. */
export function installProduceEncoding(): void {
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize: number) => EncoderShape;
  wrapRequestDefinition<ProduceArgs, ReturnType<BuildProduce>>(
    'kafkajs/src/protocol/requests/produce/index.js',
    INSTALLED,
    (build, version) => {
      if (version < FIRST_RECORD_BATCH_VERSION) return build;
      return (args) => {
        const built = build(args);
        if ((args.compression ?? NO_COMPRESSION) !== NO_COMPRESSION) return built;
        const encode = (): Promise<unknown> => {
          const body = encodeProduceRequest(args, Date.now());
          if (body === null) return built.request.encode();
          // Handing kafkajs our buffer as an Encoder's contents spares a copy into one of its growing buffers.
          const encoder = new Encoder(0);
          encoder.buf = body;
          encoder.offset = body.length;
          return Promise.resolve(encoder);
        };
        return { ...built, request: { ...built.request, encode } };
      };
    },
  );
}
