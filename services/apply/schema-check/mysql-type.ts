/**
 * The grammar of a MariaDB/MySQL column type as information_schema.COLUMNS.COLUMN_TYPE (or the binlog client's
 * rendering of the binlog metadata) prints it, which a MariaDB replica of a MariaDB source puts into CREATE TABLE
 * and ALTER TABLE verbatim:
 *
 *   type  := name ('(' digits (',' digits)? ')')? ('unsigned' | 'signed' | 'zerofill')* compressed?
 *          | ('enum' | 'set') '(' string (',' string)* ')'
 *   name  := one of the server's type names below ('double precision' too)
 *   compressed := ' /*M!100301 COMPRESSED*' + '/'  -- exactly this versioned comment, as MariaDB prints it
 *
 * Strings are single-quoted with `''` for a quote; a backslash may not precede a quote (lexer.ts says why).
 * An unknown type name is refused rather than guessed at.
 */
import { readAll, unexpected, type TokenCursor } from './lexer.ts';

const TYPE_RULES = { strings: true, quotedIdentifiers: false, operators: false, punctuation: '(),' };

/** MariaDB prints a COMPRESSED column's type with this versioned comment; no other comment passes. */
const COMPRESSED = ' /*M!100301 COMPRESSED*/';

const TYPE_NAMES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'dec',
  'numeric',
  'fixed',
  'float',
  'double',
  'real',
  'bit',
  'bool',
  'boolean',
  'date',
  'datetime',
  'timestamp',
  'time',
  'year',
  'char',
  'varchar',
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'json',
  'uuid',
  'inet4',
  'inet6',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
  'vector',
]);

const ATTRIBUTES = new Set(['unsigned', 'signed', 'zerofill']);

/** Why `text` is not a MariaDB/MySQL column type a replica may declare, or null when it is one. */
export function mysqlTypeProblem(text: string): string | null {
  if (text.endsWith(COMPRESSED)) {
    const body = text.slice(0, -COMPRESSED.length);
    return /^\s*(enum|set)\b/i.test(body) ? 'a COMPRESSED enum or set' : readAll(body, TYPE_RULES, readType);
  }
  return readAll(text, TYPE_RULES, readType);
}

function readType(cursor: TokenCursor): void {
  if (cursor.takeWord('enum') || cursor.takeWord('set')) {
    readValueList(cursor);
    return;
  }
  const first = cursor.next('a type name');
  const name = first.text.toLowerCase();
  if (first.kind !== 'word' || !TYPE_NAMES.has(name)) throw unexpected(first, 'a MariaDB/MySQL type name');
  if (name === 'double') cursor.takeWord('precision');
  if (cursor.takePunct('(')) {
    digits(cursor);
    if (cursor.takePunct(',')) digits(cursor);
    cursor.expectPunct(')');
  }
  for (let token = cursor.peek(); token; token = cursor.peek()) {
    if (token.kind !== 'word' || !ATTRIBUTES.has(token.text.toLowerCase()))
      throw unexpected(token, 'unsigned, zerofill or the end');
    cursor.next('an attribute');
  }
}

/** `('a','it''s')`: at least one value, each a string literal. */
function readValueList(cursor: TokenCursor): void {
  cursor.expectPunct('(');
  do {
    const token = cursor.next('a quoted value');
    if (token.kind !== 'string') throw unexpected(token, 'a quoted value');
  } while (cursor.takePunct(','));
  cursor.expectPunct(')');
}

function digits(cursor: TokenCursor): void {
  const token = cursor.next('digits');
  if (token.kind !== 'number' || !/^[0-9]{1,9}$/.test(token.text)) throw unexpected(token, 'digits');
}
