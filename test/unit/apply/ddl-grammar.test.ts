/**
 * The DDL grammars (services/apply/schema-check/): every type text the connectors emit passes, and no text that
 * could end a statement, open a comment or leave a parenthesis or quote open passes, however it was made. The
 * fuzzing is seeded, so a failure replays; the seed is in the assertion message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresTypeProblem } from '../../../services/apply/schema-check/postgres-type.ts';
import { mysqlTypeProblem } from '../../../services/apply/schema-check/mysql-type.ts';
import { judgeDomainCheck } from '../../../services/apply/schema-check/domain-check.ts';
import { identifierProblem } from '../../../services/apply/schema-check/identifiers.ts';
import { EMITTED_CHECKS, EMITTED_MYSQL_TYPES, EMITTED_POSTGRES_TYPES } from './emitted-types.ts';
import { seededRandom } from '../../support/workload.ts';

const HOSTILE = [
  ';',
  '--',
  '/*',
  '*/',
  "'",
  '"',
  '(',
  ')',
  '\0',
  '$$',
  '`',
  '\\',
  '#',
  ' DROP TABLE victim',
  ');',
];

/**
 * An independent reading of `text`: the parts outside quoted literals and names (`'...'` with `''` and
 * backslash pairs inside, `"..."` with `""`), and whether quotes and parentheses close. Whatever passes a
 * grammar must read as safe here too.
 */
function outsideLiterals(text: string): { readonly outside: string; readonly closed: boolean } {
  let outside = '';
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === "'" || char === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return { outside, closed: false };
        if (text[i] === '\\' && char === "'") i += 2;
        else if (text[i] === char && text[i + 1] === char) i += 2;
        else if (text[i] === char) break;
        else i++;
      }
      outside += `${char}${char}`;
    } else {
      if (char === '(') depth++;
      if (char === ')' && --depth < 0) return { outside, closed: false };
      outside += char;
    }
    i++;
  }
  return { outside, closed: depth === 0 };
}

/**
 * `closedGrammar`: a type name has no room for other words; a CHECK expression does, but inside its own
 * parentheses, where words cannot start a statement.
 */
function assertSafe(text: string, seed: number, closedGrammar = true): void {
  const { outside, closed } = outsideLiterals(text.replace(/ \/\*M!100301 COMPRESSED\*\/$/, ''));
  const why = `seed ${seed}: ${JSON.stringify(text)} passed`;
  assert.ok(closed, `${why} with an open quote or parenthesis`);
  assert.ok(
    !/;|--|\/\*|\0|\$|`/.test(outside),
    `${why} with a separator, comment or quote outside a literal`,
  );
  if (closedGrammar) assert.ok(!/\bdrop\b/i.test(outside), `${why} with a second statement's word`);
}

const SOUP = [
  'int',
  'numeric',
  'enum',
  'with',
  'time',
  'zone',
  'DROP',
  'TABLE',
  'victim',
  'CHECK',
  'VALUE',
  '(',
  ')',
  ',',
  '.',
  '[',
  ']',
  '10',
  '-',
  '::',
  ' ',
  ';',
  '--',
  '/*',
  '*/',
  "'",
  "'a'",
  "''",
  '"',
  '"x"',
  '\\',
  '\0',
  '$$',
  '#',
];

/** A random text of up to 12 pieces, from names, numbers, punctuation and everything hostile. */
function soup(next: () => number): string {
  let text = '';
  const length = 1 + Math.floor(next() * 12);
  for (let n = 0; n < length; n++) text += SOUP[Math.floor(next() * SOUP.length)]!;
  return text;
}

/** `text` with `count` hostile fragments put in at random places. */
function mutate(text: string, next: () => number, count: number): string {
  let result = text;
  for (let n = 0; n < count; n++) {
    const at = Math.floor(next() * (result.length + 1));
    const fragment = HOSTILE[Math.floor(next() * HOSTILE.length)]!;
    result = result.slice(0, at) + fragment + result.slice(at);
  }
  return result;
}

/**
 * For each seed: one emitted text with 1 to 3 hostile fragments put in, and one random text (inside `CHECK (...)`
 * with `wrap`). Whatever `passes` must read safely; most mutated texts must be refused, or the fuzzing proves
 * nothing.
 */
function fuzz(
  corpus: readonly string[],
  passes: (text: string) => boolean,
  options: {
    readonly seeds: number;
    readonly closedGrammar: boolean;
    readonly wrap?: (text: string) => string;
  },
): void {
  let refused = 0;
  for (let seed = 1; seed <= options.seeds; seed++) {
    const next = seededRandom(seed);
    const mutated = mutate(corpus[seed % corpus.length]!, next, 1 + Math.floor(next() * 3));
    if (passes(mutated)) assertSafe(mutated, seed, options.closedGrammar);
    else refused++;
    const made = options.wrap ? options.wrap(soup(next)) : soup(next);
    if (passes(made)) assertSafe(made, seed, options.closedGrammar);
  }
  assert.ok(refused > options.seeds * 0.8, `only ${refused} of ${options.seeds} mutated texts were refused`);
}

void describe('PostgreSQL type names', () => {
  void test('every type the PostgreSQL connector emits passes', () => {
    for (const type of EMITTED_POSTGRES_TYPES)
      assert.equal(postgresTypeProblem(type), null, `${type} should pass`);
  });

  void test('injected clauses and statements are refused, naming what and where', () => {
    assert.match(
      postgresTypeProblem('int); DROP TABLE victim; --') ?? '',
      /statement separator \(;\) at offset 4/,
    );
    assert.match(postgresTypeProblem('int) DROP TABLE victim') ?? '', /"\)" where the end should be/);
    assert.match(
      postgresTypeProblem('int4; DROP TABLE victim') ?? '',
      /statement separator \(;\) at offset 4/,
    );
    assert.match(postgresTypeProblem('integer /* x */') ?? '', /a comment at offset 8/);
    assert.match(postgresTypeProblem('text REFERENCES victim') ?? '', /"REFERENCES" where the end should be/);
    assert.match(postgresTypeProblem('integer CHECK (false)') ?? '', /"CHECK" where the end/);
    assert.match(postgresTypeProblem('numeric(10') ?? '', /the end, where/);
    assert.match(postgresTypeProblem('"unterminated') ?? '', /an unterminated quoted name/);
    assert.match(postgresTypeProblem(`public.${'x'.repeat(64)}`) ?? '', /64 bytes long/);
    assert.match(postgresTypeProblem('public."a\0b"') ?? '', /NUL/);
    assert.match(postgresTypeProblem('check') ?? '', /where a type name should be/);
    assert.match(postgresTypeProblem('') ?? '', /the end, where a type name should follow/);
  });

  void test('fuzzed: mutated and random texts pass only when they read safely', () => {
    fuzz(EMITTED_POSTGRES_TYPES, (text) => postgresTypeProblem(text) === null, {
      seeds: 3000,
      closedGrammar: true,
    });
  });
});

void describe('MariaDB/MySQL column types', () => {
  void test('every type the binlog connector emits passes', () => {
    for (const type of EMITTED_MYSQL_TYPES) assert.equal(mysqlTypeProblem(type), null, `${type} should pass`);
  });

  void test('value lists: quotes doubled pass, anything that leaves the list is refused', () => {
    assert.equal(mysqlTypeProblem("enum('it''s','a;b','--')"), null, 'data inside a literal is data');
    assert.equal(mysqlTypeProblem("set('back\\\\slash')"), null);
    assert.match(mysqlTypeProblem("enum('a\\'); DROP TABLE victim; --')") ?? '', /backslash before a quote/);
    assert.match(mysqlTypeProblem("enum('a'); DROP TABLE victim; --')") ?? '', /statement separator/);
    assert.match(mysqlTypeProblem("enum('a','b'") ?? '', /the end, where/);
    assert.match(mysqlTypeProblem("enum('a)") ?? '', /unterminated string/);
    assert.match(mysqlTypeProblem('int) ENGINE InnoDB') ?? '', /"\)" where/);
    assert.match(mysqlTypeProblem('int /*!50000 , x int */') ?? '', /a comment/);
    assert.match(mysqlTypeProblem('varchar(10) /*M!100301 COMPRESSED*/ /*x*/') ?? '', /a comment/);
    assert.match(mysqlTypeProblem('int GENERATED ALWAYS AS (1)') ?? '', /"GENERATED" where unsigned/);
    assert.match(mysqlTypeProblem('varchar2(10)') ?? '', /where a MariaDB\/MySQL type name should be/);
  });

  void test('fuzzed: mutated and random texts pass only when they read safely', () => {
    fuzz(EMITTED_MYSQL_TYPES, (text) => mysqlTypeProblem(text) === null, {
      seeds: 3000,
      closedGrammar: true,
    });
  });
});

void describe('PostgreSQL domain CHECK constraints', () => {
  void test('what pg_get_constraintdef prints passes', () => {
    for (const check of EMITTED_CHECKS) assert.deepEqual(judgeDomainCheck(check), { kind: 'ok' }, check);
  });

  void test('a well-formed check calling something else is told apart from a malformed one', () => {
    assert.deepEqual(judgeDomainCheck('CHECK ((public.valid_code(VALUE)))'), {
      kind: 'unknown-call',
      name: 'public.valid_code',
    });
    assert.deepEqual(judgeDomainCheck('CHECK ((pg_terminate_backend(1) OR true))'), {
      kind: 'unknown-call',
      name: 'pg_terminate_backend',
    });
    for (const bad of [
      'CHECK ((VALUE > 0)); DROP TABLE victim; --',
      'CHECK ((VALUE > 0))) OR (true',
      'CHECK (VALUE > 0',
      'CHECK ((VALUE > 0)) -- x',
      "CHECK ((VALUE ~ 'a\\'))",
      'CHECK ((VALUE > $$0$$))',
      "CHECK ((VALUE = E'x'))",
      'CHECK ((VALUE::int; DROP TABLE victim))',
      'NOT NULL',
    ])
      assert.equal(judgeDomainCheck(bad).kind, 'malformed', bad);
  });

  void test('fuzzed: a mutated check is malformed unless it reads safely', () => {
    fuzz(EMITTED_CHECKS, (text) => judgeDomainCheck(text).kind !== 'malformed', {
      seeds: 2000,
      closedGrammar: false,
      wrap: (text) => `CHECK (${text})`,
    });
  });
});

void describe('identifiers', () => {
  void test('PostgreSQL counts bytes, MariaDB characters; NUL never passes', () => {
    assert.equal(identifierProblem('x'.repeat(63), 'postgres'), null);
    assert.match(identifierProblem('x'.repeat(64), 'postgres') ?? '', /64 bytes/);
    assert.match(identifierProblem('é'.repeat(32), 'postgres') ?? '', /64 bytes/);
    assert.equal(identifierProblem('é'.repeat(64), 'mysql'), null);
    assert.match(identifierProblem('x'.repeat(65), 'mysql') ?? '', /65 characters/);
    assert.match(identifierProblem('a\0b', 'postgres') ?? '', /NUL/);
    assert.match(identifierProblem('a\0b', 'mysql') ?? '', /NUL/);
    assert.match(identifierProblem('trailing ', 'mysql') ?? '', /ends in a space/);
    assert.match(identifierProblem('emoji😀', 'mysql') ?? '', /Basic Multilingual Plane/);
    assert.equal(identifierProblem('with "quotes" and `ticks`', 'postgres'), null, 'quoting handles them');
    assert.match(identifierProblem('', 'postgres') ?? '', /empty/);
  });
});
