/**
 * Notices that a table's description is older than its user types. `ALTER TYPE ... ADD VALUE` and
 * `ALTER TYPE ... ADD ATTRIBUTE` change what a table's values look like without any RELATION message, so the
 * description read at the last RELATION keeps the old enum labels and composite attributes, and a replica
 * built from it would refuse the new values. A row shows the change: an enum label the description does not
 * list, or a composite value with another number of fields than its type had attributes, wherever it sits
 * (directly, in an array, in a composite's attribute, as a range's bound, through domains). Then the table is
 * read from the catalog again.
 *
 * A value that still does not match the freshly read description (the source changed the type again since,
 * e.g. renamed the label) is not worth another catalog read per row: that description is kept.
 */
import type { Pgoutput } from 'pg-logical-replication';
import type { UserType } from '../../../schemas/events/user-type.ts';
import type { PgTable } from './catalog.ts';
import { parseArrayText, type ArrayText } from './pg-array.ts';
import type { TypesByText } from './user-types.ts';

type Tuple = Readonly<Record<string, unknown>> | null | undefined;
type RowMessage = Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete;

/** Whether a value's text fits the described type. */
type Check = (text: string) => boolean;

export class TypeDrift {
  readonly #checks = new WeakMap<PgTable, readonly (readonly [string, Check])[]>();
  readonly #settled = new WeakSet<PgTable>();

  /**
   * Whether a row of `message` shows that `table`'s types changed since it was read; then `reload` it. Checked
   * for every row, so it allocates nothing: the common answer is no.
   */
  drifted(table: PgTable, message: RowMessage): boolean {
    return !this.#settled.has(table) && this.#outdated(table, message);
  }

  /** `table` read again through `reload`, after `drifted` said so. */
  async reload(message: RowMessage, reload: () => Promise<PgTable>): Promise<PgTable> {
    const fresh = await reload();
    if (this.#outdated(fresh, message)) this.#settled.add(fresh);
    return fresh;
  }

  #outdated(table: PgTable, message: RowMessage): boolean {
    const checks = this.#checksOf(table);
    if (checks.length === 0) return false;
    return message.tag === 'insert'
      ? outdatedTuple(checks, message.new)
      : message.tag === 'update'
        ? outdatedTuple(checks, message.new) ||
          outdatedTuple(checks, message.old) ||
          outdatedTuple(checks, message.key)
        : outdatedTuple(checks, message.old) || outdatedTuple(checks, message.key);
  }

  #checksOf(table: PgTable): readonly (readonly [string, Check])[] {
    let checks = this.#checks.get(table);
    if (!checks) {
      const types = table.typesByText;
      checks = types
        ? table.schema.columns.flatMap((column) => {
            const check = checkOf(column.sourceType, types, 0);
            return check ? [[column.name, check] as const] : [];
          })
        : [];
      this.#checks.set(table, checks);
    }
    return checks;
  }
}

function outdatedTuple(checks: readonly (readonly [string, Check])[], tuple: Tuple): boolean {
  if (!tuple) return false;
  for (const [column, fits] of checks) {
    const text = tuple[column];
    if (typeof text === 'string' && !fits(text)) return true;
  }
  return false;
}

/** Types nest only as deep as PostgreSQL lets them; this bounds a malformed description. */
const MAX_DEPTH = 32;

/** The check for values of the type `text` names; null when nothing in it can drift (built-in types). */
function checkOf(text: string, types: TypesByText, depth: number): Check | null {
  if (depth > MAX_DEPTH) return null;
  const name = text.trim();
  if (name.endsWith('[]')) {
    const element = checkOf(name.slice(0, -2), types, depth + 1);
    return element && ((value) => everyElement(parseArrayText(value), element));
  }
  const type = types.get(name);
  if (!type) return null;
  if (type.kind === 'multirange') {
    const range = checkFor(type.range, types, depth + 1);
    return range && ((value) => multirangeParts(value).every(range));
  }
  return checkFor(type, types, depth + 1);
}

function checkFor(type: UserType, types: TypesByText, depth: number): Check | null {
  switch (type.kind) {
    case 'enum': {
      const labels = new Set(type.labels);
      return (value) => labels.has(value);
    }
    case 'domain':
      return checkOf(type.baseType, types, depth);
    case 'composite': {
      const attributes = type.attributes.map((attribute) => checkOf(attribute.type, types, depth));
      return (value) => {
        const fields = compositeParts(value);
        return (
          fields.length === attributes.length &&
          fields.every((field, i) => field === null || (attributes[i]?.(field) ?? true))
        );
      };
    }
    case 'range': {
      const bound = checkOf(type.subtype, types, depth);
      return bound && ((value) => rangeBounds(value).every((part) => part === null || bound(part)));
    }
  }
}

function everyElement(items: ArrayText, fits: Check): boolean {
  return items.every(
    (item) => item === null || (typeof item === 'string' ? fits(item) : everyElement(item, fits)),
  );
}

/**
 * Splits the inside of a composite's or range's text at its top-level commas: `1,"a, b",` gives `1`, `a, b`
 * and null. Parts holding delimiters are double-quoted, with `""` or a backslash escaping a quote inside; an
 * empty unquoted part is NULL (or an infinite range bound).
 */
function splitParts(inner: string): (string | null)[] {
  const parts: (string | null)[] = [];
  let part = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i]!;
    if (quoted && char === '\\') part += inner[++i] ?? '';
    else if (quoted && char === '"' && inner[i + 1] === '"') part += inner[++i];
    else if (char === '"') {
      quoted = !quoted;
      wasQuoted = true;
    } else if (char === ',' && !quoted) {
      parts.push(part === '' && !wasQuoted ? null : part);
      part = '';
      wasQuoted = false;
    } else part += char;
  }
  parts.push(part === '' && !wasQuoted ? null : part);
  return parts;
}

/** A composite's fields (`(1,"a, b",)` has 3), each unquoted, null for NULL. */
export function compositeParts(text: string): (string | null)[] {
  return splitParts(text.slice(1, -1));
}

/** A range's two bounds (`[sad,"a b")`), null for an infinite one; none for `empty`. */
function rangeBounds(text: string): (string | null)[] {
  return text === 'empty' ? [] : splitParts(text.slice(1, -1));
}

/** The ranges of a multirange's text: `{[1,2), (3,"4 5"]}` gives `[1,2)` and `(3,"4 5"]`. */
function multirangeParts(text: string): string[] {
  const ranges: string[] = [];
  let start = -1;
  let quoted = false;
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i];
    if (quoted && char === '\\') i++;
    else if (char === '"') quoted = !quoted;
    else if (!quoted && start < 0 && (char === '[' || char === '(')) start = i;
    else if (!quoted && start >= 0 && (char === ']' || char === ')')) {
      ranges.push(text.slice(start, i + 1));
      start = -1;
    }
  }
  return ranges;
}
