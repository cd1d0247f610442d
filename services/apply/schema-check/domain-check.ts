/**
 * A PostgreSQL domain's CHECK constraint as pg_get_constraintdef prints it (`CHECK ((VALUE > 0))`), which a
 * PostgreSQL replica adds to the domain it creates. Two questions, answered apart:
 *
 * - Is it one well-formed constraint? `CHECK (` expression `)`, optionally `NOT VALID`, with balanced
 *   parentheses and brackets and nothing the lexer refuses (`;`, comments, dollar quotes...). A check that is
 *   not is refused with its table: it cannot come from a catalog.
 * - Does it only call what the replica may run? The expression runs on every row the replica writes, so a
 *   call is allowed only to a short list of plain pg_catalog functions and to keywords that look like calls
 *   (`ANY (ARRAY[...])`), and `::` casts only to types the type grammar takes. A well-formed check that calls
 *   anything else (a function of the source's own) is left out on the replica, as one the replica cannot
 *   create always was: the source enforces it already.
 */
import { grammarError, readAll, unexpected, type Token, type TokenCursor } from './lexer.ts';
import { readPostgresType } from './postgres-type.ts';
import type { CdcError } from '../../../common/errors.ts';

const CHECK_RULES = { strings: true, quotedIdentifiers: true, operators: true, punctuation: '()[],.' };

/** Keywords followed by a parenthesis that are not function calls. */
const CALL_KEYWORDS = new Set([
  'all',
  'and',
  'any',
  'array',
  'between',
  'else',
  'from',
  'ilike',
  'in',
  'is',
  'like',
  'not',
  'or',
  'row',
  'similar',
  'some',
  'then',
  'to',
  'when',
]);

/** pg_catalog functions without side effects that domain checks commonly use. */
const SAFE_FUNCTIONS = new Set([
  'abs',
  'array_length',
  'array_lower',
  'array_ndims',
  'array_upper',
  'btrim',
  'cardinality',
  'ceil',
  'ceiling',
  'char_length',
  'character_length',
  'coalesce',
  'floor',
  'greatest',
  'isempty',
  'isfinite',
  'json_typeof',
  'jsonb_typeof',
  'least',
  'left',
  'length',
  'lower',
  'lower_inc',
  'lower_inf',
  'ltrim',
  'mod',
  'nullif',
  'num_nonnulls',
  'num_nulls',
  'octet_length',
  'position',
  'regexp_like',
  'right',
  'round',
  'rtrim',
  'scale',
  'sign',
  'strpos',
  'substr',
  'substring',
  'trim',
  'trunc',
  'upper',
  'upper_inc',
  'upper_inf',
]);

export type CheckVerdict =
  | { readonly kind: 'ok' }
  /** Well-formed, but calls something outside the list: left out on the replica. */
  | { readonly kind: 'unknown-call'; readonly name: string }
  | { readonly kind: 'malformed'; readonly why: string };

export function judgeDomainCheck(definition: string): CheckVerdict {
  // Set inside the grammar callback, which the compiler's narrowing does not follow.
  let call = null as string | null;
  const why = readAll(definition, CHECK_RULES, (cursor) => {
    if (!cursor.takeWord('check')) throw unexpected(cursor.next('CHECK'), 'CHECK');
    cursor.expectPunct('(');
    call = readExpression(cursor);
    if (cursor.takeWord('not') && !cursor.takeWord('valid')) throw unexpected(cursor.next('VALID'), 'VALID');
  });
  if (why !== null) return { kind: 'malformed', why };
  return call === null ? { kind: 'ok' } : { kind: 'unknown-call', name: call };
}

/**
 * Reads up to and including the `)` closing the parenthesis before the cursor, keeping nesting balanced; returns
 * the first call to something outside the lists, or null.
 */
function readExpression(cursor: TokenCursor): string | null {
  const closers: string[] = [')'];
  let unknown: string | null = null;
  while (closers.length > 0) {
    const token = cursor.next('the closing parenthesis');
    if (token.kind === 'punct' && (token.text === '(' || token.text === '[')) {
      closers.push(token.text === '(' ? ')' : ']');
      const name = token.text === '(' ? calledName(cursor) : null;
      if (name !== null) unknown ??= name;
    } else if (token.kind === 'punct' && (token.text === ')' || token.text === ']')) {
      if (closers.pop() !== token.text) throw unbalanced(token);
    } else if (token.kind === 'operator' && token.text === '::') {
      readPostgresType(cursor);
    } else if (token.kind === 'operator' && token.text.includes(':')) {
      throw unexpected(token, 'an operator');
    }
  }
  return unknown;
}

/**
 * The function a `(` just read opens the arguments of, when it is not one of the allowed ones: a word right
 * before it (with its schema, `pg_catalog.lower`) that is not a keyword.
 */
function calledName(cursor: TokenCursor): string | null {
  const before = cursor.behind(2);
  if (!before || (before.kind !== 'word' && before.kind !== 'quoted')) return null;
  const name = before.text.toLowerCase();
  const schema = cursor.behind(3)?.text === '.' ? cursor.behind(4) : undefined;
  const inCatalog = schema === undefined || schema.text.toLowerCase() === 'pg_catalog';
  if (before.kind === 'word' && inCatalog && (CALL_KEYWORDS.has(name) || SAFE_FUNCTIONS.has(name)))
    return null;
  return schema ? `${schema.text}.${before.text}` : before.text;
}

function unbalanced(token: Token): CdcError {
  return grammarError(`an unbalanced ${JSON.stringify(token.text)}`, token.at);
}
