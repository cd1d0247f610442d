/**
 * Producer compression. kafkajs 2.2.4 has only gzip built in and looks every other codec up in its
 * `CompressionCodecs` table; zstd comes from Node's own zlib (Node 22.15 and later), so it needs no native
 * add-on: the npm codec packages for kafkajs wrap old native modules (`@kafkajs/zstd` needs `cppzst`, whose
 * build failed here; `kafkajs-lz4` needs `lz4` 0.6). The codec is registered for every
 * client we build, so every consumer in the process reads zstd batches, whoever wrote them.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { CompressionTypes } from 'kafkajs';
import kafkajs from './kafkajs.ts';

export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

/** The codec shape kafkajs calls: `compress` receives its encoder, whose `buffer` holds the records. */
const zstdCodec = {
  compress: (encoder: { buffer: Buffer }): Promise<Buffer> => zstdCompress(encoder.buffer),
  decompress: (buffer: Buffer): Promise<Buffer> => zstdDecompress(buffer),
};

export function registerCompressionCodecs(): void {
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.ZSTD] = () => zstdCodec;
}

/** The kafkajs compression type a `send` takes for the configured name. */
export function compressionType(compression: Compression): CompressionTypes {
  switch (compression) {
    case 'none':
      return kafkajs.CompressionTypes.None;
    case 'gzip':
      return kafkajs.CompressionTypes.GZIP;
    case 'zstd':
      return kafkajs.CompressionTypes.ZSTD;
  }
}
