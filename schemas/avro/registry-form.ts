/**
 * The form a writer schema takes in a schema registry, and the Confluent wire format.
 *
 * The embedded store identifies a schema by the CRC-64-AVRO fingerprint of its Parsing Canonical Form, which
 * drops custom properties; the envelope and key record names therefore carry a digest of the table metadata
 * (table-avro.ts), so a metadata-only change (varchar(40) → varchar(80)) still gets a fingerprint of its own.
 * A registry identifies a schema by its full text, properties included, so it needs no such digest, and a
 * registry's compatibility check pairs records by name: a name that changes with every DDL would make each
 * table change a new, unrelated record (BACKWARD refuses a writer record whose name the reader does not know).
 * The registry form is the same schema with stable names (`<namespace>.Envelope`, `<namespace>.Key`) and Avro
 * defaults for the columns whose source default is known, so a column added with a default reads in old
 * records. Avro binary encoding does not depend on names or defaults: the body bytes are the same in both
 * encodings, only the header differs.
 */
import { CdcError } from '../../common/errors.ts';

/** The digest suffix table-avro.ts gives envelope and key records: `_` and 16 hex digits. */
const DIGEST_SUFFIX = /^(.*\.(?:Envelope|Key))_[0-9a-f]{16}$/;

export interface RegistryForm {
  /** The schema text to register. */
  readonly text: string;
  /** The record's full name (namespace.name), for the record subject strategies. */
  readonly recordName: string;
}

/** The registry form of a writer schema's JSON text (see the top of this file). */
export function registryForm(json: string): RegistryForm {
  const schema = JSON.parse(json) as Record<string, unknown>;
  const name = schema.name;
  if (typeof name !== 'string')
    throw new CdcError('SCHEMA_INCOMPATIBLE', 'a change-event schema without a record name');
  const stable = DIGEST_SUFFIX.exec(name)?.[1] ?? name;
  const out: Record<string, unknown> = { ...schema, name: stable };
  if (Array.isArray(schema.fields)) out.fields = schema.fields.map(withRowDefaults);
  return { text: JSON.stringify(out), recordName: stable };
}

/** The envelope's `before` field defines the Row record: its column fields get Avro defaults. */
function withRowDefaults(field: unknown): unknown {
  if (typeof field !== 'object' || field === null) return field;
  const envelopeField = field as Record<string, unknown>;
  if (envelopeField.name !== 'before' || !Array.isArray(envelopeField.type)) return field;
  return {
    ...envelopeField,
    type: envelopeField.type.map((branch: unknown) => {
      if (typeof branch !== 'object' || branch === null) return branch;
      const row = branch as Record<string, unknown>;
      if (!Array.isArray(row.fields)) return branch;
      return { ...row, fields: row.fields.map(withColumnDefault) };
    }),
  };
}

/**
 * A NOT NULL column with a constant default gets that default as its Avro default, converted to the first
 * branch of its union (Avro requires that branch): a reader with the new schema then fills it in for records
 * written before the column existed, as the source did for its existing rows. A default that does not convert
 * (bytes, arrays) is left out, and the registry's compatibility check decides.
 */
function withColumnDefault(field: unknown): unknown {
  if (typeof field !== 'object' || field === null) return field;
  const column = field as Record<string, unknown>;
  if ('default' in column || typeof column['cdc.default'] !== 'string') return field;
  const first: unknown = Array.isArray(column.type) ? column.type[0] : column.type;
  const value = avroDefault(first, column['cdc.default']);
  return value === undefined ? field : { ...column, default: value };
}

function avroDefault(type: unknown, text: string): unknown {
  switch (type) {
    case 'string':
      return text;
    case 'int':
    case 'long': {
      const value = Number(text);
      return /^-?\d+$/.test(text) && Number.isSafeInteger(value) ? value : undefined;
    }
    case 'float':
    case 'double': {
      const value = Number(text);
      return text.trim() !== '' && Number.isFinite(value) ? value : undefined;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    default:
      return undefined;
  }
}

/** Byte 0 of a message in the Confluent wire format, then the schema id as 4 bytes big-endian. */
export const WIRE_MAGIC = 0;
export const WIRE_HEADER_BYTES = 5;

/** A Confluent wire-format message holding the Avro body of a single-object message. */
export function toWireFormat(
  schemaId: number,
  singleObject: Buffer,
  singleObjectHeaderBytes: number,
): Buffer {
  const body = singleObject.length - singleObjectHeaderBytes;
  const out = Buffer.allocUnsafe(WIRE_HEADER_BYTES + body);
  out[0] = WIRE_MAGIC;
  out.writeUInt32BE(schemaId, 1);
  singleObject.copy(out, WIRE_HEADER_BYTES, singleObjectHeaderBytes);
  return out;
}
