/**
 * A column's constant default from `pg_get_expr(adbin, adrelid)`, as neutral text. PostgreSQL prints a
 * constant bare when its type is evident (`0`, `1.5`, `true`) and otherwise as a quoted literal with a cast
 * (`'-3'::integer`, `'new'::character varying`, `'2024-01-01 10:00:00+00'::timestamp with time zone` in the
 * catalog session's UTC, `'ok'::public.mood`); the implicit cast to the column's type is not printed. Any other
 * expression (`now()`, `nextval('s'::regclass)`, `CURRENT_TIMESTAMP`, `(1 + 1)`, `'a'::text || 'b'::text`)
 * is not a constant and gives no default.
 */
import type { ColumnType } from '../../../schemas/events/table-schema.ts';
import { canonicalDefault } from '../../../schemas/events/column-default.ts';

const BARE = /^(?:-?\d+(?:\.\d+)?|true|false)$/;
/**
 * `'literal'::type`, the type a plain or schema-qualified name (quoted parts allowed), with an optional
 * modifier and time zone phrase. No parentheses elsewhere, so no function call or operator matches.
 */
const CAST_LITERAL =
  /^'((?:[^']|'')*)'::(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:\.(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*))?(?: [a-z]+)*(?:\(\d+(?:,\d+)?\))?(?: with(?:out)? time zone)?$/;

/** The constant's text (a quoted literal unquoted), or null when the expression is not a constant. */
export function pgDefaultLiteral(expression: string | null): string | null {
  if (expression === null) return null;
  if (BARE.test(expression)) return expression;
  const cast = CAST_LITERAL.exec(expression);
  return cast ? cast[1]!.replace(/''/g, "'") : null;
}

/** The neutral default of a column of `type` whose default expression is `expression`, or undefined. */
export function pgColumnDefault(type: ColumnType, expression: string | null): string | undefined {
  const literal = pgDefaultLiteral(expression);
  return literal === null ? undefined : canonicalDefault(type, literal);
}
