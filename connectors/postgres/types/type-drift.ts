/**
 * Notices that a table's description is older than its user types. `ALTER TYPE ... ADD VALUE` and
 * `ALTER TYPE ... ADD ATTRIBUTE` change what a table's values look like without any RELATION message, so the
 * description read at the last RELATION keeps the old enum labels and composite attributes, and a replica
 * built from it would refuse the new values. A row shows the change: an enum label the description does not
 * list, or a composite value with another number of fields than its type had attributes. Then the table is
 * read from the catalog again.
 *
 * A value that still does not match the freshly read description (the source changed the type again since,
 * e.g. renamed the label) is not worth another catalog read per row: that description is kept.
 */
import type { Pgoutput } from 'pg-logical-replication';
import type { ColumnType } from '../../../schemas/events/table-schema.ts';
import type { PgTable } from './catalog.ts';
import { parseArrayText, type ArrayText } from './pg-array.ts';

type Tuple = Readonly<Record<string, unknown>> | null | undefined;

type Check = (text: string) => boolean;

export class TypeDrift {
  readonly #checks = new WeakMap<PgTable, readonly (readonly [string, Check])[]>();
  readonly #settled = new WeakSet<PgTable>();

  /** `table`, or the table read again through `reload` when a row of `message` shows its types changed. */
  async current(
    table: PgTable,
    message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
    reload: () => Promise<PgTable>,
  ): Promise<PgTable> {
    const tuples: Tuple[] =
      message.tag === 'insert'
        ? [message.new]
        : message.tag === 'update'
          ? [message.new, message.old, message.key]
          : [message.old, message.key];
    if (this.#settled.has(table) || !this.#outdated(table, tuples)) return table;
    const fresh = await reload();
    if (this.#outdated(fresh, tuples)) this.#settled.add(fresh);
    return fresh;
  }

  #outdated(table: PgTable, tuples: readonly Tuple[]): boolean {
    const checks = this.#checksOf(table);
    if (checks.length === 0) return false;
    for (const tuple of tuples) {
      if (!tuple) continue;
      for (const [column, fits] of checks) {
        const text = tuple[column];
        if (typeof text === 'string' && !fits(text)) return true;
      }
    }
    return false;
  }

  #checksOf(table: PgTable): readonly (readonly [string, Check])[] {
    let checks = this.#checks.get(table);
    if (!checks) {
      checks = table.schema.columns.flatMap((column) => {
        const check = checkFor(column.type, table.compositeArity?.get(column.name));
        return check ? [[column.name, check] as const] : [];
      });
      this.#checks.set(table, checks);
    }
    return checks;
  }
}

function checkFor(type: ColumnType, arity: number | undefined): Check | null {
  const element = type.kind === 'array' ? type.element : type;
  let fits: Check | null = null;
  if (element.kind === 'enum') {
    const labels = new Set(element.values);
    fits = (text) => labels.has(text);
  } else if (arity !== undefined && arity > 0) {
    fits = (text) => compositeFields(text) === arity;
  }
  if (!fits || type.kind !== 'array') return fits;
  const elementFits = fits;
  return (text) => everyElement(parseArrayText(text), elementFits);
}

function everyElement(items: ArrayText, fits: Check): boolean {
  return items.every(
    (item) => item === null || (typeof item === 'string' ? fits(item) : everyElement(item, fits)),
  );
}

/**
 * The number of fields in a composite's text form (`(1,"a, b",)` has 3). Fields holding delimiters are
 * double-quoted (nested composites and arrays too), with `""` or a backslash escaping a quote inside.
 */
export function compositeFields(text: string): number {
  let fields = 1;
  let quoted = false;
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i];
    if (quoted && char === '\\') i++;
    else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) fields++;
  }
  return fields;
}
