/**
 * Table names and patterns as verify and the conflict sink's trigger set-up take them: `schema.table` (MariaDB:
 * `database.table`), and the configuration's patterns where either part may be `*` or end with `*` for a prefix
 * match.
 */
import { CdcError } from '../../common/errors.ts';

export interface QualifiedName {
  readonly schema: string;
  readonly table: string;
}

/** Splits `schema.table` at its first dot; a bare name takes `defaultSchema` (null: a bare name is refused). */
export function splitTableName(name: string, defaultSchema: string | null): QualifiedName {
  const dot = name.indexOf('.');
  if (dot > 0 && dot < name.length - 1) return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
  if (dot < 0 && name !== '' && defaultSchema !== null) return { schema: defaultSchema, table: name };
  throw new CdcError('REQUEST_INVALID', `table ${JSON.stringify(name)} must be written as "schema.table"`, {
    table: name,
  });
}

function partMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

export function matchesAny(patterns: readonly string[], name: QualifiedName): boolean {
  return patterns.some((pattern) => {
    const dot = pattern.indexOf('.');
    const schema = dot < 0 ? pattern : pattern.slice(0, dot);
    const table = dot < 0 ? '*' : pattern.slice(dot + 1);
    return partMatches(schema, name.schema) && partMatches(table, name.table);
  });
}
