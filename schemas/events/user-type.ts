/**
 * User-defined types a table's columns use (PostgreSQL domains, enums, composites and ranges), described
 * well enough for a same-dialect replica to create them before it creates the table. A column keeps the
 * type's name as its `sourceType` (`public.posint`, `shop.address[]`), so the replica's table can only be
 * created once these exist there under the same schema and name.
 *
 * Type texts (`baseType`, attribute `type`, `subtype`) are PostgreSQL's format_type output, schema-qualified
 * for every type outside pg_catalog. A table lists every type it needs, including those its types are built
 * from, dependencies first, so a replica creates them in list order. Values never depend on these
 * descriptions: they travel as the base type's value (domains) or as PostgreSQL's text form.
 */
export interface UserTypeName {
  readonly schema: string;
  readonly name: string;
}

export interface DomainCheck {
  readonly name: string;
  /** pg_get_constraintdef's text: `CHECK ((VALUE > 0))`. */
  readonly definition: string;
}

export interface CompositeAttribute {
  readonly name: string;
  readonly type: string;
}

export type UserType =
  | (UserTypeName & { readonly kind: 'enum'; readonly labels: readonly string[] })
  | (UserTypeName & {
      readonly kind: 'domain';
      readonly baseType: string;
      readonly notNull: boolean;
      readonly checks: readonly DomainCheck[];
    })
  | (UserTypeName & { readonly kind: 'composite'; readonly attributes: readonly CompositeAttribute[] })
  | (UserTypeName & {
      readonly kind: 'range';
      readonly subtype: string;
      /** The multirange PostgreSQL 14+ creates with the range, so a replica gives it the same name. */
      readonly multirange?: UserTypeName;
      /** A subtype_diff function from pg_catalog (`float8mi`); user-defined functions are not carried. */
      readonly subtypeDiff?: string;
    });

export const USER_TYPE_KINDS = [
  'enum',
  'domain',
  'composite',
  'range',
] as const satisfies readonly UserType['kind'][];
