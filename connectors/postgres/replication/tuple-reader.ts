/**
 * pgoutput's TupleData read as pg-logical-replication reads it, without its per-column garbage. The library
 * (0.x, `PgoutputParser.readTuple`) makes a Buffer view of every text value and decodes it through a
 * TextDecoder; a row of six columns made six Buffer objects, the largest share of what capture allocated per
 * row. Here each text value is decoded straight from the message's bytes. The result is the library's, value
 * for value (test/unit/postgres/tuple-reader.test.ts): each value passed through the column's parser, binary
 * values as views, unchanged TOAST values from the fallback tuple. The tuple is an ordinary object, or one
 * without a prototype when a column is named like a member of Object.prototype (`__proto__`).
 *
 * It reads the library's BinaryReader fields `_b` (the message) and `_p` (the read position); when a reader
 * lacks them (another library version), the library's own readTuple is used.
 */
import type { Pgoutput } from 'pg-logical-replication';

interface ReaderFields {
  _b?: unknown;
  _p?: unknown;
}

type Tuple = Record<string, unknown>;
type ReadTuple = (reader: unknown, relation: Pgoutput.MessageRelation, fallback?: Tuple) => Tuple;

/** The parser's readTuple replaced by ours, the library's kept for readers it does not know. */
export function installTupleReader(parser: { readTuple: ReadTuple }): void {
  const library = parser.readTuple.bind(parser);
  parser.readTuple = (reader, relation, fallback) => {
    const fields = reader as ReaderFields;
    if (!Buffer.isBuffer(fields._b) || typeof fields._p !== 'number')
      return library(reader, relation, fallback);
    return readInto(fields as Cursor, relation.columns, fallback);
  };
}

const TEXT = 0x74;
const BINARY = 0x62;
const NULL = 0x6e;
const UNCHANGED_TOAST = 0x75;

/** The message and the read position in it, as the library's BinaryReader holds them. */
interface Cursor {
  readonly _b: Buffer;
  _p: number;
}

/** The tuple at `start` of `bytes`, and where it ends. */
export function readTuple(
  bytes: Buffer,
  start: number,
  columns: readonly Pgoutput.RelationColumn[],
  fallback?: Tuple,
): { tuple: Tuple; end: number } {
  const cursor: Cursor = { _b: bytes, _p: start };
  const tuple = readInto(cursor, columns, fallback);
  return { tuple, end: cursor._p };
}

/**
 * Whether a relation's tuples need an object without a prototype: only when a column is named like a member of
 * Object.prototype (`__proto__`, `constructor`), which an ordinary object would take for its own or refuse.
 * Ordinary objects are the fast kind in V8; one without a prototype is a dictionary, slower to fill and read.
 */
const bareTuples = new WeakMap<readonly Pgoutput.RelationColumn[], boolean>();

function needsBare(columns: readonly Pgoutput.RelationColumn[]): boolean {
  let bare = bareTuples.get(columns);
  if (bare === undefined) {
    bare = columns.some((column) => column.name in Object.prototype);
    bareTuples.set(columns, bare);
  }
  return bare;
}

function readInto(cursor: Cursor, columns: readonly Pgoutput.RelationColumn[], fallback?: Tuple): Tuple {
  const bytes = cursor._b;
  let at = cursor._p;
  if (at + 2 > bytes.length) throw new Error('unexpected end of message');
  const fields = bytes.readInt16BE(at);
  at += 2;
  const tuple: Tuple = needsBare(columns) ? (Object.create(null) as Tuple) : {};
  for (let i = 0; i < fields; i++) {
    const column = columns[i];
    if (column === undefined)
      throw new Error(`tuple has more fields than its relation's ${columns.length} columns`);
    if (at + 1 > bytes.length) throw new Error('unexpected end of message');
    const kind = bytes[at++];
    if (kind === TEXT || kind === BINARY) {
      if (at + 4 > bytes.length) throw new Error('unexpected end of message');
      const size = bytes.readInt32BE(at);
      at += 4;
      if (at + size > bytes.length) throw new Error('unexpected end of message');
      tuple[column.name] =
        kind === TEXT ? column.parser(bytes.toString('utf8', at, at + size)) : bytes.subarray(at, at + size);
      at += size;
    } else if (kind === NULL) tuple[column.name] = null;
    else if (kind === UNCHANGED_TOAST) tuple[column.name] = fallback?.[column.name];
    else throw new Error(`unknown attribute kind ${String.fromCharCode(kind ?? 0)}`);
  }
  cursor._p = at;
  return tuple;
}
