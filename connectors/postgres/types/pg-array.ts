/**
 * Parses PostgreSQL's array text form (`{1,2}`, `{{a,"b c"},{NULL,"\"q\""}}`, `[0:1]={x,y}`) into nested
 * arrays of element texts. Element decoding is the caller's job, so this file knows nothing about types.
 */
import { CdcError } from '../../../common/errors.ts';

export type ArrayText = readonly (string | null | ArrayText)[];

export function parseArrayText(text: string, delimiter = ','): ArrayText {
  // A non-default lower bound prints a dimension prefix (`[0:2]={...}`); the values are what we keep.
  let start = 0;
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq < 0) throw invalid(text);
    start = eq + 1;
  }
  const parser = { text, at: start, delimiter };
  const result = parseLevel(parser);
  if (parser.at !== text.length) throw invalid(text);
  return result;
}

interface Cursor {
  readonly text: string;
  at: number;
  readonly delimiter: string;
}

function parseLevel(cursor: Cursor): ArrayText {
  if (cursor.text[cursor.at] !== '{') throw invalid(cursor.text);
  cursor.at++;
  const items: (string | null | ArrayText)[] = [];
  if (cursor.text[cursor.at] === '}') {
    cursor.at++;
    return items;
  }
  for (;;) {
    const ch = cursor.text[cursor.at];
    if (ch === '{') items.push(parseLevel(cursor));
    else if (ch === '"') items.push(parseQuoted(cursor));
    else items.push(parseBare(cursor));
    const next = cursor.text[cursor.at];
    cursor.at++;
    if (next === '}') return items;
    if (next !== cursor.delimiter) throw invalid(cursor.text);
  }
}

function parseQuoted(cursor: Cursor): string {
  cursor.at++;
  let out = '';
  for (;;) {
    const ch = cursor.text[cursor.at];
    if (ch === undefined) throw invalid(cursor.text);
    cursor.at++;
    if (ch === '"') return out;
    if (ch === '\\') {
      const escaped = cursor.text[cursor.at];
      if (escaped === undefined) throw invalid(cursor.text);
      out += escaped;
      cursor.at++;
    } else {
      out += ch;
    }
  }
}

function parseBare(cursor: Cursor): string | null {
  const begin = cursor.at;
  while (cursor.at < cursor.text.length) {
    const ch = cursor.text[cursor.at];
    if (ch === cursor.delimiter || ch === '}') break;
    cursor.at++;
  }
  const raw = cursor.text.slice(begin, cursor.at);
  // Only the unquoted word NULL is SQL NULL; a quoted "NULL" is the string.
  return raw === 'NULL' ? null : raw.trim();
}

function invalid(text: string): CdcError {
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new CdcError('DECODE_FAILED', `not a PostgreSQL array literal: ${JSON.stringify(shown)}`, {});
}
