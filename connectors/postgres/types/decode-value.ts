/**
 * Decodes one column value from PostgreSQL's text output into the change-event Value, exactly: the
 * replication and snapshot connections both receive raw text (type parsers overridden) so that int8,
 * numeric and timestamps never pass through a lossy JavaScript conversion.
 */
import type { Value } from '../../../schemas/events/change-event.ts';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';
import { CdcError } from '../../../common/errors.ts';
import { parseArrayText, type ArrayText } from './pg-array.ts';

export function decodeValue(type: ColumnType, text: string | null): Value {
  if (text === null) return null;
  switch (type.kind) {
    case 'boolean':
      return text === 't' || text === 'true';
    case 'int16':
    case 'int32':
      return Number.parseInt(text, 10);
    case 'int64':
    case 'uint64':
      return BigInt(text);
    case 'float32':
    case 'float64':
      // Number() reads NaN, Infinity and -Infinity the way PostgreSQL prints them.
      return Number(text);
    case 'bytes':
      return decodeBytea(text);
    case 'array':
      return decodeArray(type.element, parseArrayText(text));
    case 'decimal':
    case 'string':
    case 'uuid':
    case 'json':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'interval':
    case 'enum':
    case 'set':
    case 'bit':
    case 'text':
      // Canonical text as the server prints it with DateStyle ISO and TimeZone UTC.
      return text;
  }
}

function decodeArray(element: ColumnType, items: ArrayText): Value[] {
  return items.map((item) =>
    item === null || typeof item === 'string' ? decodeValue(element, item) : decodeArray(element, item),
  );
}

/** bytea prints as `\x` followed by hex with bytea_output = hex (the default, and set on our connections). */
export function decodeBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) {
    throw new CdcError('DECODE_FAILED', 'bytea value is not in hex format; set bytea_output = hex', {});
  }
  const hex = text.slice(2);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
