/**
 * Our pgoutput tuple reading gives pg-logical-replication's values for the same message bytes: text (ASCII and
 * multi-byte), binary, null and unchanged TOAST values, odd column names, and the message read to the same
 * point. One difference, on purpose: a text value starting with U+FEFF keeps it (the library's TextDecoder
 * drops a leading byte-order mark, which changes the value).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Pgoutput } from 'pg-logical-replication';
import { installTupleReader, readTuple } from '../../../connectors/postgres/replication/tuple-reader.ts';

const require = createRequire(import.meta.url);
interface Reader {
  _b: Buffer;
  _p: number;
}
const { PgoutputParser } =
  require('pg-logical-replication/dist/output-plugins/pgoutput/pgoutput-parser.js') as {
    PgoutputParser: new () => {
      readTuple(
        reader: Reader,
        relation: Pgoutput.MessageRelation,
        fallback?: object,
      ): Record<string, unknown>;
    };
  };
const { BinaryReader } = require('pg-logical-replication/dist/output-plugins/pgoutput/binary-reader.js') as {
  BinaryReader: new (bytes: Buffer) => Reader;
};

type Value = { text: string } | { binary: Buffer } | null | 'toast';

/** A TupleData message body, with a byte before and after it (the reader must start and stop in place). */
function tupleBytes(values: readonly Value[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x4e]), Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const value of values) {
    if (value === null) parts.push(Buffer.from('n'));
    else if (value === 'toast') parts.push(Buffer.from('u'));
    else {
      const bytes = 'text' in value ? Buffer.from(value.text, 'utf8') : value.binary;
      const size = Buffer.alloc(4);
      size.writeInt32BE(bytes.length);
      parts.push(Buffer.from('text' in value ? 't' : 'b'), size, bytes);
    }
  }
  parts.push(Buffer.from([0x7a]));
  return Buffer.concat(parts);
}

function relation(names: readonly string[]): Pgoutput.MessageRelation {
  return {
    tag: 'relation',
    relationOid: 1,
    schema: 'public',
    name: 't',
    replicaIdentity: 'default',
    keyColumns: [],
    columns: names.map((name) => ({
      name,
      flags: 0,
      typeOid: 25,
      typeMod: -1,
      typeSchema: null,
      typeName: null,
      parser: (raw: unknown) => raw,
    })),
  };
}

const plain = (tuple: Record<string, unknown>): Record<string, unknown> => ({ ...tuple });

test('reads the values the library reads, and stops where it stops', () => {
  const names = ['id', 'note', '__proto__', 'constructor', 'raw', 'gone', 'big', 'ünï'];
  const values: Value[] = [
    { text: '42' },
    { text: 'naïve 東京 🙂' },
    { text: 'p' },
    { text: '' },
    { binary: Buffer.from([0, 1, 255]) },
    null,
    'toast',
    { text: 'x'.repeat(70_000) },
  ];
  const bytes = tupleBytes(values);
  const fallback = { big: 'from the old row' };
  const library = new BinaryReader(bytes);
  library._p = 1;
  const expected = new PgoutputParser().readTuple(library, relation(names), fallback);
  const ours = readTuple(bytes, 1, relation(names).columns, fallback);
  assert.deepStrictEqual(plain(ours.tuple), plain(expected));
  assert.equal(Object.getPrototypeOf(ours.tuple), null);
  assert.equal(ours.end, library._p);
  assert.equal(bytes[ours.end], 0x7a);
});

test('a tuple is an ordinary object unless a column is named like a member of Object.prototype', () => {
  const bytes = tupleBytes([{ text: '1' }, null]);
  const ordinary = readTuple(bytes, 1, relation(['id', 'note']).columns).tuple;
  assert.equal(Object.getPrototypeOf(ordinary), Object.prototype);
  assert.deepStrictEqual(ordinary, { id: '1', note: null });
  const bare = readTuple(bytes, 1, relation(['id', 'constructor']).columns).tuple;
  assert.equal(Object.getPrototypeOf(bare), null);
  assert.deepStrictEqual(plain(bare), { id: '1', constructor: null });
});

test('installed on a parser, it reads through the parser and moves its reader on', () => {
  const parser = new PgoutputParser();
  installTupleReader(parser as unknown as Parameters<typeof installTupleReader>[0]);
  const bytes = tupleBytes([{ text: 'a' }, null]);
  const reader = new BinaryReader(bytes);
  reader._p = 1;
  assert.deepStrictEqual(plain(parser.readTuple(reader, relation(['x', 'y']))), { x: 'a', y: null });
  assert.equal(reader._p, bytes.length - 1);
});

test('a leading byte-order mark stays in the value; a cut message is refused', () => {
  const bytes = tupleBytes([{ text: '\uFEFFbom' }]);
  assert.deepStrictEqual(plain(readTuple(bytes, 1, relation(['v']).columns).tuple), { v: '\uFEFFbom' });
  assert.throws(
    () => readTuple(bytes.subarray(0, bytes.length - 3), 1, relation(['v']).columns),
    /unexpected end/,
  );
});
