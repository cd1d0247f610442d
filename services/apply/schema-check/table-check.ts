/**
 * The check a table's schema passes before a sink runs any DDL for it. Schemas are read from Kafka, and anyone
 * who can write to the changelog and schema topics writes them: a column's source type, a user type's base
 * type or a domain's CHECK goes into the replica's DDL as text, so each is held to the grammar of its dialect
 * (postgres-type.ts, mysql-type.ts, domain-check.ts), every name to the target's identifier limits
 * (identifiers.ts), and the neutral column type, which the avro decoder takes as it comes, to its shape.
 *
 * What is checked is what the target's DDL uses: a source type only where the target declares it verbatim (the
 * same dialect), user types only on a PostgreSQL target. A table that fails is refused whole, with a reason
 * naming the table, the column and the text; its events go to the dead-letter topic and other tables go on.
 */
import type { ColumnType, TableSchema } from '../../../schemas/events/table-schema.ts';
import type { UserType } from '../../../schemas/events/user-type.ts';
import { CdcError } from '../../../common/errors.ts';
import { judgeDomainCheck } from './domain-check.ts';
import { identifierProblem, literalProblem, type TargetRules } from './identifiers.ts';
import { mysqlTypeProblem } from './mysql-type.ts';
import { postgresTypeProblem } from './postgres-type.ts';

export type { TargetRules };

/** The sink's own tables (applied positions, conflict log, marker rows): never a replicated table's home. */
const SINK_SCHEMA = 'cdc_apply';
/** Nesting of array types deeper than any source has (PostgreSQL arrays are typed one level deep). */
const MAX_ARRAY_DEPTH = 4;

/** A refused text, where in the table it sits (column) and why; tableSchemaRefusal adds the table. */
function refused(column: string | null, what: string, text: string, why: string): CdcError {
  return new CdcError('SCHEMA_REFUSED', `${what} ${JSON.stringify(text)} ${why}`, { column, text });
}

/** The error refusing `table` on a `target` replica, or null when its schema may reach DDL. */
export function tableSchemaRefusal(table: TableSchema, target: TargetRules): CdcError | null {
  try {
    checkTable(table, target);
    return null;
  } catch (error) {
    if (!(error instanceof CdcError && error.code === 'SCHEMA_REFUSED')) throw error;
    const name = `${table.schema}.${table.table}`;
    const column = typeof error.fields.column === 'string' ? error.fields.column : null;
    return new CdcError(
      'SCHEMA_REFUSED',
      `table ${name} refused before any DDL: ${column === null ? '' : `column ${JSON.stringify(column)}: `}${error.message}`,
      { table: name, column, text: error.fields.text },
    );
  }
}

function checkTable(table: TableSchema, target: TargetRules): void {
  name(null, 'schema name', table.schema, target);
  name(null, 'table name', table.table, target);
  if (table.schema.toLowerCase() === SINK_SCHEMA)
    throw refused(null, 'schema name', table.schema, "is the sink's own schema");
  const columns = new Set<string>();
  for (const column of table.columns) {
    name(column.name, 'name', column.name, target);
    columns.add(column.name);
    const shape = columnTypeProblem(column.type, 0);
    if (shape !== null) throw refused(column.name, 'neutral type', JSON.stringify(column.type), shape);
    if (table.dialect === target) {
      const problem =
        target === 'postgres' ? postgresTypeProblem(column.sourceType) : mysqlTypeProblem(column.sourceType);
      if (problem !== null)
        throw refused(
          column.name,
          'type',
          column.sourceType,
          `is not a ${dialectName(target)} type: ${problem}`,
        );
    }
    if (column.default !== undefined) literal(column.name, 'default', column.default);
  }
  for (const key of table.key)
    if (!columns.has(key)) throw refused(key, 'key column', key, 'is not a column of the table');
  if (target === 'postgres' && table.dialect === 'postgres')
    for (const type of table.userTypes ?? []) checkUserType(type);
}

function checkUserType(type: UserType): void {
  const label = `user type ${type.schema}.${type.name}`;
  name(null, `${label}: schema name`, type.schema, 'postgres');
  name(null, `${label}: name`, type.name, 'postgres');
  switch (type.kind) {
    case 'enum':
      for (const value of stringsOf(type.labels, `${label}: labels`)) {
        literal(null, `${label}: label`, value);
        // PostgreSQL limits labels as it limits names.
        name(null, `${label}: label`, value, 'postgres');
      }
      return;
    case 'domain':
      sourceType(`${label}: base type`, type.baseType);
      for (const check of entries(type.checks, `${label}: constraints`)) {
        name(null, `${label}: constraint name`, check.name, 'postgres');
        const definition = typeof check.definition === 'string' ? check.definition : '';
        const verdict = judgeDomainCheck(definition);
        if (verdict.kind === 'malformed')
          throw refused(null, `${label}: constraint`, definition, `is not one CHECK: ${verdict.why}`);
      }
      return;
    case 'composite':
      for (const attribute of entries(type.attributes, `${label}: attributes`)) {
        name(null, `${label}: attribute name`, attribute.name, 'postgres');
        sourceType(`${label}: attribute type`, attribute.type);
      }
      return;
    case 'range':
      sourceType(`${label}: subtype`, type.subtype);
      if (type.multirange !== undefined) {
        const [multirange] = entries([type.multirange], `${label}: multirange`);
        name(null, `${label}: multirange schema`, multirange?.schema, 'postgres');
        name(null, `${label}: multirange name`, multirange?.name, 'postgres');
      }
      if (type.subtypeDiff !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(String(type.subtypeDiff)))
        throw refused(
          null,
          `${label}: subtype_diff`,
          String(type.subtypeDiff),
          'is not a pg_catalog function name',
        );
      return;
  }
}

function sourceType(what: string, text: unknown): void {
  const problem = typeof text === 'string' ? postgresTypeProblem(text) : 'is not text';
  if (problem !== null) throw refused(null, what, String(text), `is not a PostgreSQL type: ${problem}`);
}

function name(column: string | null, what: string, text: unknown, target: TargetRules): void {
  const problem = typeof text === 'string' ? identifierProblem(text, target) : 'is not text';
  if (problem !== null) throw refused(column, what, String(text), problem);
}

function literal(column: string | null, what: string, text: unknown): void {
  const problem = typeof text === 'string' ? literalProblem(text) : 'is not text';
  if (problem !== null) throw refused(column, what, String(text), problem);
}

/** A list of objects, as a description's lists must be (the avro decoder does not look inside them). */
function entries(value: unknown, what: string): Fields[] {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'object' || entry === null))
    throw refused(null, what, JSON.stringify(value) ?? String(value), 'is not a list of descriptions');
  return value as Fields[];
}

function stringsOf(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string'))
    throw refused(null, what, JSON.stringify(value) ?? String(value), 'is not a list of texts');
  return value as string[];
}

function dialectName(target: TargetRules): string {
  return target === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL';
}

type Fields = Readonly<Record<string, unknown>>;
type KindCheck = (type: Fields, depth: number) => string | null;

const none: KindCheck = () => null;
const precision: KindCheck = (type) => integer(type.precision, 0, 6, 'precision');
const sized: KindCheck = (type) =>
  integer(type.maxLength, 0, 2 ** 31 - 1, 'maxLength') ?? flag(type.fixed, 'fixed');
const valueList: KindCheck = (type) => {
  const values = type.values;
  if (!Array.isArray(values) || values.some((value) => typeof value !== 'string'))
    return 'has values that are not a list of texts';
  const bad = (values as string[]).find((value) => literalProblem(value) !== null);
  return bad === undefined ? null : `has a value that ${literalProblem(bad)}`;
};

/** What each neutral kind may carry; numbers end up in DDL as digits, values as quoted literals. */
const KIND_CHECKS = {
  boolean: none,
  int16: none,
  int32: none,
  int64: none,
  uint64: none,
  float32: none,
  float64: none,
  decimal: (type) =>
    integer(type.precision, 1, 1000, 'precision') ?? integer(type.scale, -1000, 1000, 'scale'),
  string: sized,
  bytes: sized,
  uuid: none,
  json: (type) => flag(type.binary, 'binary'),
  date: none,
  time: (type) => precision(type, 0) ?? flag(type.withTimeZone, 'withTimeZone'),
  timestamp: precision,
  timestamptz: precision,
  interval: none,
  enum: valueList,
  set: valueList,
  bit: (type) =>
    integer(type.length, 0, 83_886_080, 'length') ?? (type.length === undefined ? 'has no length' : null),
  array: (type, depth) =>
    depth >= MAX_ARRAY_DEPTH ? 'nests arrays too deep' : columnTypeProblem(type.element, depth + 1),
  text: none,
} satisfies Record<ColumnType['kind'], KindCheck>;

function columnTypeProblem(type: unknown, depth: number): string | null {
  if (typeof type !== 'object' || type === null) return 'is not an object';
  const fields = type as Fields;
  const kind = fields.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(KIND_CHECKS, kind)) return 'has an unknown kind';
  return KIND_CHECKS[kind as ColumnType['kind']](fields, depth);
}

function integer(value: unknown, min: number, max: number, what: string): string | null {
  if (value === undefined) return null;
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
    ? null
    : `has a ${what} that is not a whole number from ${min} to ${max}`;
}

function flag(value: unknown, what: string): string | null {
  return value === undefined || typeof value === 'boolean' ? null : `has a ${what} that is not true or false`;
}
