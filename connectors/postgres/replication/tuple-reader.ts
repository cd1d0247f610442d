/**
 * pgoutput's TupleData read as pg-logical-replication reads it, without its per-column garbage. The library
 * (0.x, `PgoutputParser.readTuple`) makes a Buffer view of every text value and decodes it through a
 * TextDecoder; a row of six columns made six Buffer objects, the largest share of what capture allocated per
 * row. Here each text value is decoded straight from the message's bytes. The result is the library's, value
 * for value (test/unit/postgres/tuple-reader.test.ts): a prototype-less object (a column may be named
 * `__proto__`), each value passed through the column's parser, binary values as views, unchanged TOAST values
 * from the fallback tuple.
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
    const { tuple, end } = readTuple(fields._b, fields._p, relation.columns, fallback);
    fields._p = end;
    return tuple;
  };
}

const TEXT = 0x74;
const BINARY = 0x62;
const NULL = 0x6e;
const UNCHANGED_TOAST = 0x75;

/** The tuple at `start` of `bytes`, and where it ends. */
export function readTuple(
  bytes: Buffer,
  start: number,
  columns: readonly Pgoutput.RelationColumn[],
  fallback?: Tuple,
): { tuple: Tuple; end: number } {
  let at = start;
  const need = (count: number): void => {
    if (at + count > bytes.length) throw new Error('unexpected end of message');
  };
  need(2);
  const fields = bytes.readInt16BE(at);
  at += 2;
  const tuple = Object.create(null) as Tuple;
  for (let i = 0; i < fields; i++) {
    const column = columns[i];
    if (column === undefined)
      throw new Error(`tuple has more fields than its relation's ${columns.length} columns`);
    need(1);
    const kind = bytes[at++];
    if (kind === TEXT || kind === BINARY) {
      need(4);
      const size = bytes.readInt32BE(at);
      at += 4;
      need(size);
      tuple[column.name] =
        kind === TEXT ? column.parser(bytes.toString('utf8', at, at + size)) : bytes.subarray(at, at + size);
      at += size;
    } else if (kind === NULL) tuple[column.name] = null;
    else if (kind === UNCHANGED_TOAST) tuple[column.name] = fallback?.[column.name];
    else throw new Error(`unknown attribute kind ${String.fromCharCode(kind ?? 0)}`);
  }
  return { tuple, end: at };
}
