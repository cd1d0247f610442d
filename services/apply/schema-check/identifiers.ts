/**
 * Whether a name read from a change event's schema can be a target identifier. Quoting alone is not enough:
 * PostgreSQL cuts a name past 63 bytes (so a long name can land on another table or type of the replica, whose
 * first 63 bytes it shares), and a NUL byte ends the text the server reads. MariaDB refuses names past 64
 * characters, characters outside the Basic Multilingual Plane and a trailing space; refusing them here names the
 * column in the dead letter instead of failing the table's DDL.
 */

export type TargetRules = 'postgres' | 'mysql';

/** PostgreSQL's NAMEDATALEN - 1. */
export const POSTGRES_MAX_NAME_BYTES = 63;
export const MYSQL_MAX_NAME_CHARS = 64;

/** Why `name` cannot be an identifier on the target, or null when it can. */
export function identifierProblem(name: string, target: TargetRules): string | null {
  if (name === '') return 'is empty';
  if (name.includes('\0')) return 'holds a NUL byte';
  if (!name.isWellFormed()) return 'is not well-formed Unicode';
  switch (target) {
    case 'postgres': {
      const bytes = Buffer.byteLength(name, 'utf8');
      return bytes > POSTGRES_MAX_NAME_BYTES
        ? `is ${bytes} bytes long; PostgreSQL names are at most ${POSTGRES_MAX_NAME_BYTES} bytes (a longer one is cut and could name another object)`
        : null;
    }
    case 'mysql': {
      const chars = [...name].length;
      if (chars > MYSQL_MAX_NAME_CHARS)
        return `is ${chars} characters long; MariaDB/MySQL names are at most ${MYSQL_MAX_NAME_CHARS} characters`;
      if (/[\u{10000}-\u{10FFFF}]/u.test(name))
        return 'holds a character outside the Basic Multilingual Plane, which MariaDB/MySQL names cannot';
      return name.endsWith(' ') ? 'ends in a space, which MariaDB/MySQL names cannot' : null;
    }
  }
}

/** Why a string literal bound for DDL (an enum label, a default) cannot be written there, or null. */
export function literalProblem(value: string): string | null {
  if (value.includes('\0')) return 'holds a NUL byte';
  return value.isWellFormed() ? null : 'is not well-formed Unicode';
}
