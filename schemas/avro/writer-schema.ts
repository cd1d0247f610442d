/**
 * A writer schema as the schema store keeps it: the full schema text (with our `cdc.*` properties, which avsc
 * drops when it parses a schema), the parsed avsc type, and the fingerprint that names it in message headers.
 */
import type avsc from 'avsc';
import { fingerprintBytes, schemaFingerprint } from './fingerprint.ts';
import { parseAvroType } from './long-type.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';

export interface WriterSchema {
  /**
   * The schema id: the 8 fingerprint bytes exactly as they appear in a single-object header (bytes 2..9 of a
   * message), hex-encoded. The schema topic is keyed by it.
   */
  readonly id: string;
  /** CRC-64-AVRO of the Parsing Canonical Form, as an unsigned 64-bit value. */
  readonly fingerprint: bigint;
  readonly header: Buffer;
  /** The full schema as JSON text, custom properties included. */
  readonly json: string;
  readonly type: avsc.Type;
}

export function schemaId(fingerprint: bigint): string {
  return fingerprintBytes(fingerprint).toString('hex');
}

export function writerSchema(schema: object): WriterSchema {
  const fingerprint = schemaFingerprint(schema);
  const header = Buffer.allocUnsafe(10);
  header[0] = 0xc3;
  header[1] = 0x01;
  fingerprintBytes(fingerprint).copy(header, 2);
  return {
    id: header.toString('hex', 2, 10),
    fingerprint,
    header,
    json: JSON.stringify(schema),
    type: parseAvroType(schema),
  };
}

export function writerSchemaFromJson(json: string): WriterSchema {
  let schema: unknown;
  try {
    schema = JSON.parse(json);
  } catch (error) {
    throw new CdcError(
      'SCHEMA_INCOMPATIBLE',
      `schema text is not JSON: ${errorMessage(error)}`,
      {},
      { cause: error },
    );
  }
  if (typeof schema !== 'object' || schema === null)
    throw new CdcError('SCHEMA_INCOMPATIBLE', 'schema text is not a JSON object');
  return writerSchema(schema);
}
