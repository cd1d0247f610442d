/**
 * The one tokenizer under the DDL grammars (type names, domain CHECK expressions). It refuses, wherever they
 * appear, what could end a statement or hide text from our reading of it: `;`, comments (`--`, `/*`), a NUL
 * byte, dollar quotes, an unterminated quote, and any character the grammar has no token for. What it accepts
 * the grammars then match token by token, so nothing reaches DDL that we did not read the way the server will.
 *
 * A string literal may not hold a backslash right before a quote: whether the server reads `\'` as an escaped
 * quote depends on a session setting (standard_conforming_strings, NO_BACKSLASH_ESCAPES), and only where both
 * readings end the literal at the same place does our reading hold whatever the setting.
 */

import { CdcError } from '../../../common/errors.ts';

export type TokenKind = 'word' | 'quoted' | 'number' | 'string' | 'punct' | 'operator';

export interface Token {
  readonly kind: TokenKind;
  /** As written; a quoted identifier's text is its name, unquoted. */
  readonly text: string;
  /** Where it starts in the input. */
  readonly at: number;
}

export interface LexerRules {
  /** Single-quoted string literals (`''` doubles a quote; backslashes per the note above). */
  readonly strings: boolean;
  /** Double-quoted identifiers (`""` doubles a quote). */
  readonly quotedIdentifiers: boolean;
  /** Operator runs (`<=`, `~`, `::`, `||`). */
  readonly operators: boolean;
  /** Single punctuation characters the grammar takes. */
  readonly punctuation: string;
}

/**
 * A text the lexer or a grammar refuses: why, and where (`at`, an offset into the text). Caught by readAll,
 * which turns it into the words a refusal quotes; it never leaves this folder.
 */
export function grammarError(message: string, at: number): CdcError {
  return new CdcError('SCHEMA_REFUSED', message, { at });
}

/**
 * Reads all of `text` with `grammar`: null when the grammar takes it to its end, otherwise why not and where
 * (`a statement separator (;) at offset 4`).
 */
export function readAll(
  text: string,
  rules: LexerRules,
  grammar: (cursor: TokenCursor) => void,
): string | null {
  try {
    const cursor = new TokenCursor(tokenize(text, rules), text.length);
    grammar(cursor);
    cursor.expectEnd();
    return null;
  } catch (error) {
    if (error instanceof CdcError && error.code === 'SCHEMA_REFUSED' && typeof error.fields.at === 'number')
      return `${error.message} at offset ${error.fields.at}`;
    throw error;
  }
}

const WORD_START = /[A-Za-z_]/;
/** No `$`: PostgreSQL takes it inside a bare name, but format_type quotes such names, and `$` also opens dollar quotes. */
const WORD_PART = /[A-Za-z0-9_]/;
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|:';

export function tokenize(text: string, rules: LexerRules): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const at = i;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i++;
    } else if (text.startsWith('--', i) || text.startsWith('/*', i)) {
      throw grammarError('a comment', at);
    } else if (char === ';') {
      throw grammarError('a statement separator (;)', at);
    } else if (char === '\0') {
      throw grammarError('a NUL byte', at);
    } else if (WORD_START.test(char)) {
      while (i < text.length && WORD_PART.test(text[i]!)) i++;
      // E'..', B'..', U&'..': prefixed literals read escapes differently; none is needed in a type or a check.
      if (text[i] === "'" || text[i] === '&') throw grammarError('a prefixed literal', at);
      tokens.push({ kind: 'word', text: text.slice(at, i), at });
    } else if (/[0-9]/.test(char)) {
      const match = /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      i += match[0].length;
      if (i < text.length && WORD_PART.test(text[i]!)) throw grammarError('a malformed number', at);
      tokens.push({ kind: 'number', text: match[0], at });
    } else if (char === "'" && rules.strings) {
      const [value, end] = quoted(text, i, "'", true);
      tokens.push({ kind: 'string', text: value, at });
      i = end;
    } else if (char === '"' && rules.quotedIdentifiers) {
      const [value, end] = quoted(text, i, '"', false);
      tokens.push({ kind: 'quoted', text: value, at });
      i = end;
    } else if (rules.punctuation.includes(char)) {
      tokens.push({ kind: 'punct', text: char, at });
      i++;
    } else if (rules.operators && OPERATOR_CHARS.includes(char)) {
      while (i < text.length && OPERATOR_CHARS.includes(text[i]!)) {
        if (text.startsWith('--', i) || text.startsWith('/*', i)) throw grammarError('a comment', i);
        i++;
      }
      tokens.push({ kind: 'operator', text: text.slice(at, i), at });
    } else {
      throw grammarError(`the character ${JSON.stringify(char)}`, at);
    }
  }
  return tokens;
}

/** The text of a quoted token starting at `start` and the index after its closing quote. */
function quoted(text: string, start: number, quote: string, backslashes: boolean): [string, number] {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '\0') throw grammarError('a NUL byte', i);
    if (char === quote) {
      if (text[i + 1] !== quote) return [value, i + 1];
      value += quote;
      i += 2;
    } else if (char === '\\' && backslashes) {
      if (text[i + 1] === quote) throw grammarError('a backslash before a quote', i);
      // Both characters as written: what the pair means is the server's business, not where the literal ends.
      value += text.slice(i, i + 2);
      i += 2;
    } else {
      value += char;
      i++;
    }
  }
  throw grammarError(`an unterminated ${quote === "'" ? 'string' : 'quoted name'}`, start);
}

/** Reads tokens one by one for a grammar, failing with where the text stopped making sense. */
export class TokenCursor {
  readonly #tokens: readonly Token[];
  readonly #end: number;
  #index = 0;

  constructor(tokens: readonly Token[], end: number) {
    this.#tokens = tokens;
    this.#end = end;
  }

  get done(): boolean {
    return this.#index >= this.#tokens.length;
  }

  peek(offset = 0): Token | undefined {
    return this.#tokens[this.#index + offset];
  }

  /** The previous token, `back` tokens before the next one. */
  behind(back: number): Token | undefined {
    return this.#index - back >= 0 ? this.#tokens[this.#index - back] : undefined;
  }

  next(what: string): Token {
    const token = this.#tokens[this.#index];
    if (!token) throw grammarError(`the end, where ${what} should follow`, this.#end);
    this.#index++;
    return token;
  }

  /** Takes the next token when it is the bare word `word` (any case). */
  takeWord(word: string): boolean {
    const token = this.peek();
    if (token?.kind !== 'word' || token.text.toLowerCase() !== word) return false;
    this.#index++;
    return true;
  }

  takePunct(punct: string): boolean {
    const token = this.peek();
    if (token?.kind !== 'punct' || token.text !== punct) return false;
    this.#index++;
    return true;
  }

  expectPunct(punct: string): void {
    const token = this.next(`"${punct}"`);
    if (token.kind !== 'punct' || token.text !== punct) throw unexpected(token, `"${punct}"`);
  }

  expectEnd(): void {
    const token = this.peek();
    if (token) throw unexpected(token, 'the end');
  }
}

export function unexpected(token: Token, wanted: string): CdcError {
  return grammarError(`${JSON.stringify(token.text)} where ${wanted} should be`, token.at);
}
