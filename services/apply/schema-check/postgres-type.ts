/**
 * The grammar of a PostgreSQL type name as format_type prints it, which a PostgreSQL replica of a PostgreSQL
 * source puts into CREATE TABLE, ALTER TABLE and CREATE TYPE/DOMAIN verbatim:
 *
 *   type      := base ('[' digits? ']')*
 *   base      := 'double precision'
 *              | ('character' | 'bit') 'varying'? modifiers?
 *              | ('timestamp' | 'time') ('(' digits ')')? (('with' | 'without') 'time zone')?
 *              | 'interval' fields? ('(' digits ')')?
 *              | name ('.' name)? modifiers?          -- int4, varchar(20), public.mood, "My Schema"."Mood"
 *   modifiers := '(' ('-'? digits | word) (',' ...)* ')' -- numeric(10,-2), public.geometry(Point,4326)
 *
 * A name is a bare word or a double-quoted identifier within the target's identifier limits; a bare word that
 * is a reserved word starting a column clause (CHECK, REFERENCES, DEFAULT...) is refused, so no clause can ride
 * in after a type. Anything else is refused.
 */
import { identifierProblem } from './identifiers.ts';
import { grammarError, readAll, unexpected, type Token, type TokenCursor } from './lexer.ts';

const TYPE_RULES = { strings: false, quotedIdentifiers: true, operators: false, punctuation: '()[],.-' };

/** Words that begin a column clause or a statement: never a type name written bare. */
const RESERVED = new Set([
  'alter',
  'call',
  'copy',
  'create',
  'delete',
  'do',
  'drop',
  'execute',
  'grant',
  'insert',
  'revoke',
  'truncate',
  'update',
  'all',
  'and',
  'as',
  'check',
  'collate',
  'constraint',
  'default',
  'deferrable',
  'exclude',
  'foreign',
  'generated',
  'identity',
  'initially',
  'key',
  'not',
  'null',
  'on',
  'or',
  'primary',
  'references',
  'select',
  'storage',
  'compression',
  'unique',
  'using',
  'with',
  'without',
]);

const INTERVAL_FIELDS = ['year', 'month', 'day', 'hour', 'minute', 'second'];
const INTERVAL_RANGES: Readonly<Record<string, readonly string[]>> = {
  year: ['month'],
  day: ['hour', 'minute', 'second'],
  hour: ['minute', 'second'],
  minute: ['second'],
};

/** Why `text` is not a PostgreSQL type name a replica may declare, or null when it is one. */
export function postgresTypeProblem(text: string): string | null {
  return readAll(text, TYPE_RULES, readPostgresType);
}

/** Reads one type name at the cursor (also inside a CHECK expression, after `::`). */
export function readPostgresType(cursor: TokenCursor): void {
  readBase(cursor);
  while (cursor.takePunct('[')) {
    if (cursor.peek()?.kind === 'number') digits(cursor.next('an array bound'));
    cursor.expectPunct(']');
  }
}

function readBase(cursor: TokenCursor): void {
  if (cursor.takeWord('double')) {
    if (!cursor.takeWord('precision')) throw unexpected(cursor.next('"precision"'), '"precision"');
    return;
  }
  if (cursor.takeWord('character') || cursor.takeWord('bit')) {
    cursor.takeWord('varying');
    readModifiers(cursor, false);
    return;
  }
  if (cursor.takeWord('timestamp') || cursor.takeWord('time')) {
    readPrecision(cursor);
    if (cursor.takeWord('with') || cursor.takeWord('without')) {
      if (!cursor.takeWord('time')) throw unexpected(cursor.next('"time zone"'), '"time zone"');
      if (!cursor.takeWord('zone')) throw unexpected(cursor.next('"zone"'), '"zone"');
    }
    return;
  }
  if (cursor.takeWord('interval')) {
    readIntervalFields(cursor);
    readPrecision(cursor);
    return;
  }
  readName(cursor);
  if (cursor.takePunct('.')) readName(cursor);
  readModifiers(cursor, true);
}

function readIntervalFields(cursor: TokenCursor): void {
  const first = cursor.peek();
  if (first?.kind !== 'word' || !INTERVAL_FIELDS.includes(first.text.toLowerCase())) return;
  cursor.next('an interval field');
  if (!cursor.takeWord('to')) return;
  const last = cursor.next('an interval field');
  if (
    last.kind !== 'word' ||
    !(INTERVAL_RANGES[first.text.toLowerCase()] ?? []).includes(last.text.toLowerCase())
  )
    throw unexpected(last, 'an interval field');
}

function readPrecision(cursor: TokenCursor): void {
  if (!cursor.takePunct('(')) return;
  digits(cursor.next('a precision'));
  cursor.expectPunct(')');
}

/** `(10,2)`, `(20)`, `(5,-2)`; words too for extension types (`geometry(Point,4326)`). */
function readModifiers(cursor: TokenCursor, words: boolean): void {
  if (!cursor.takePunct('(')) return;
  do {
    const negative = cursor.takePunct('-');
    const token = cursor.next('a type modifier');
    if (token.kind === 'number') digits(token);
    else if (!(words && !negative && token.kind === 'word' && !RESERVED.has(token.text.toLowerCase())))
      throw unexpected(token, 'a type modifier');
  } while (cursor.takePunct(','));
  cursor.expectPunct(')');
}

function readName(cursor: TokenCursor): void {
  const token = cursor.next('a type name');
  if (token.kind === 'word' && RESERVED.has(token.text.toLowerCase())) throw unexpected(token, 'a type name');
  if (token.kind !== 'word' && token.kind !== 'quoted') throw unexpected(token, 'a type name');
  const problem = identifierProblem(token.text, 'postgres');
  if (problem !== null) throw grammarError(`the name ${JSON.stringify(token.text)} ${problem}`, token.at);
}

function digits(token: Token): void {
  if (token.kind !== 'number' || !/^[0-9]{1,9}$/.test(token.text)) throw unexpected(token, 'digits');
}
