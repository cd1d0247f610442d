/**
 * Reads the user-defined types a table's columns use from the PostgreSQL catalog, with everything they are
 * built from (a domain's base, a composite's attribute types, a range's subtype, an array's element), and
 * orders them dependencies first, so a replica can create them in that order.
 *
 * Only types a replica can create from a description are listed: enums, domains, composites that are not a
 * table's row type, and ranges. Base types of extensions (citext, hstore) need their extension on the
 * replica and are not listed; arrays and multiranges come with their element or range type.
 */
import type pg from 'pg';
import type {
  DomainCheck,
  CompositeAttribute,
  UserType,
  UserTypeName,
} from '../../../schemas/events/user-type.ts';

/**
 * The described types by their format_type text (`public.address`, `"My Schema".mood`), the way a column's
 * sourceType and a composite attribute's type name them; a multirange by its own text, for its range.
 */
export type TypesByText = ReadonlyMap<
  string,
  UserType | { readonly kind: 'multirange'; readonly range: UserType }
>;

export interface ReadTypes {
  /** Dependencies first. */
  readonly types: UserType[];
  readonly byText: TypesByText;
}

interface TypeRow {
  oid: number;
  type_text: string;
  multirange_text: string | null;
  schema: string;
  name: string;
  kind: string;
  /** Element of an array type, base of a domain, subtype of a range, range of a multirange; 0 when none. */
  depends_on: number[];
  base_type: string | null;
  not_null: boolean;
  checks: DomainCheck[] | null;
  attributes: (CompositeAttribute & { oid: number })[] | null;
  /** Composite types only: whether pg_class says this is a free-standing type (relkind 'c'). */
  standalone: boolean | null;
  labels: string[] | null;
  subtype: string | null;
  multirange_schema: string | null;
  multirange_name: string | null;
  subtype_diff: string | null;
}

// Types in pg_catalog and information_schema exist on every PostgreSQL replica and depend on nothing else.
const TYPES_SQL = `
SELECT t.oid::int4 AS oid, format_type(t.oid, NULL) AS type_text, format_type(r.rngmultitypid, NULL) AS multirange_text,
       n.nspname AS schema, t.typname AS name, t.typtype AS kind,
       array_remove(ARRAY[
         CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END,
         t.typbasetype, r.rngsubtype, mr.rngtypid]::int4[], 0) AS depends_on,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       (SELECT json_agg(json_build_object('name', c.conname, 'definition', pg_get_constraintdef(c.oid))
                        ORDER BY c.conname)
          FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') AS checks,
       (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                          'oid', a.atttypid::int4) ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes,
       (SELECT k.relkind = 'c' FROM pg_class k WHERE k.oid = t.typrelid) AS standalone,
       (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
       format_type(r.rngsubtype, NULL) AS subtype,
       mn.nspname AS multirange_schema, m.typname AS multirange_name,
       (SELECT p.proname FROM pg_proc p WHERE p.oid = r.rngsubdiff AND p.pronamespace = 'pg_catalog'::regnamespace)
         AS subtype_diff
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_range r ON r.rngtypid = t.oid
  LEFT JOIN pg_type m ON m.oid = r.rngmultitypid
  LEFT JOIN pg_namespace mn ON mn.oid = m.typnamespace
  LEFT JOIN pg_range mr ON mr.rngmultitypid = t.oid
 WHERE t.oid = ANY($1::oid[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

/** The user types behind the given column type oids, dependencies first; empty when they use none. */
export async function readUserTypes(pool: pg.Pool, typeOids: readonly number[]): Promise<ReadTypes> {
  const rows = new Map<number, TypeRow>();
  let wanted = [...new Set(typeOids)];
  while (wanted.length > 0) {
    const result = await pool.query<TypeRow>(TYPES_SQL, [wanted]);
    for (const row of result.rows) rows.set(row.oid, row);
    wanted = [
      ...new Set(
        result.rows.flatMap((row) => [...row.depends_on, ...(row.attributes ?? []).map((a) => a.oid)]),
      ),
    ].filter((oid) => !rows.has(oid));
  }
  const ordered: UserType[] = [];
  const byText = new Map<string, UserType | { kind: 'multirange'; range: UserType }>();
  const visited = new Set<number>();
  const visit = (oid: number): void => {
    const row = rows.get(oid);
    if (!row || visited.has(oid)) return;
    visited.add(oid);
    for (const dependency of [...row.depends_on, ...(row.attributes ?? []).map((a) => a.oid)])
      visit(dependency);
    const type = describe(row);
    if (!type) return;
    ordered.push(type);
    byText.set(row.type_text, type);
    if (row.multirange_text !== null) byText.set(row.multirange_text, { kind: 'multirange', range: type });
  };
  for (const oid of typeOids) visit(oid);
  return { types: ordered, byText };
}

function describe(row: TypeRow): UserType | null {
  const name: UserTypeName = { schema: row.schema, name: row.name };
  switch (row.kind) {
    case 'e':
      return { ...name, kind: 'enum', labels: row.labels ?? [] };
    case 'd':
      return {
        ...name,
        kind: 'domain',
        baseType: row.base_type ?? 'text',
        notNull: row.not_null,
        checks: row.checks ?? [],
      };
    case 'c':
      // A table's row type exists wherever that table does; creating it as a type would take its name.
      if (row.standalone !== true) return null;
      return {
        ...name,
        kind: 'composite',
        attributes: (row.attributes ?? []).map((attribute) => ({
          name: attribute.name,
          type: attribute.type,
        })),
      };
    case 'r':
      return {
        ...name,
        kind: 'range',
        subtype: row.subtype ?? 'text',
        ...(row.multirange_schema !== null && row.multirange_name !== null
          ? { multirange: { schema: row.multirange_schema, name: row.multirange_name } }
          : {}),
        ...(row.subtype_diff !== null ? { subtypeDiff: row.subtype_diff } : {}),
      };
    default:
      return null;
  }
}
