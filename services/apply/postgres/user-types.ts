/**
 * Creates on a PostgreSQL replica the user-defined types a PostgreSQL source's table uses (enums, domains,
 * composites, ranges; `TableSchema.userTypes`, dependencies first), under the source's schema and name,
 * because the replica declares its columns with the source's type names. A type that exists already is
 * brought up to the description where that only adds: enum labels (in the source's order), composite
 * attributes and domain CHECK constraints. Nothing is dropped or renamed.
 *
 * Runs outside the target transaction: PostgreSQL refuses to use an enum label in the transaction that added
 * it. Tables described before types were carried list only their enums, through their column types.
 */
import type pg from 'pg';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { UserType, UserTypeName } from '../../../schemas/events/user-type.ts';
import type { Logger } from '../../../common/logger.ts';
import { enumTypeNeeds } from './type-mapping.ts';
import { ident, literal, splitTypeName } from './sql.ts';
import { judgeDomainCheck } from '../schema-check/domain-check.ts';

/** PostgreSQL's duplicate_object: another worker created the type between our look and our CREATE. */
const DUPLICATE_OBJECT = '42710';

function typeSql(type: UserTypeName): string {
  return `${ident(type.schema)}.${ident(type.name)}`;
}

/** What the replica needs for `table`: its carried types, or for older descriptions the enums of its columns. */
export function userTypesOf(table: TableSchema): readonly UserType[] {
  if (table.userTypes) return table.userTypes;
  return enumTypeNeeds(table).map((need) => {
    const parts = splitTypeName(need.typeName);
    return {
      kind: 'enum',
      schema: parts?.schema ?? 'public',
      name: parts?.name ?? need.typeName,
      labels: need.values,
    };
  });
}

/** Creates or completes the user types tables need; remembers what it did until reset(). */
export class TargetTypes {
  readonly #logger: Logger;
  readonly #ready = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  async ensure(client: pg.Client, tables: Iterable<TableSchema>): Promise<void> {
    for (const table of tables) {
      for (const type of userTypesOf(table)) {
        const signature = JSON.stringify(type);
        if (this.#ready.has(signature)) continue;
        await ensureType(client, type, this.#logger);
        this.#ready.add(signature);
      }
    }
  }

  /** After a new connection: another writer may have changed the replica's types. */
  reset(): void {
    this.#ready.clear();
  }
}

/** Creates `type` when the replica lacks it, else adds what it lacks (labels, attributes, checks). */
async function ensureType(client: pg.Client, type: UserType, logger: Logger): Promise<void> {
  const existing = await client.query<{ oid: number }>(
    `SELECT t.oid::int4 AS oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typname = $2`,
    [type.schema, type.name],
  );
  const found = existing.rows[0];
  if (!found) {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(type.schema)}`);
    try {
      await client.query(createStatement(type));
      logger.info({ type: `${type.schema}.${type.name}`, kind: type.kind }, 'created user type');
    } catch (error) {
      if ((error as { code?: unknown }).code !== DUPLICATE_OBJECT) throw error;
    }
    if (type.kind === 'domain') await addDomainChecks(client, type, new Set(), true, logger);
    return;
  }
  switch (type.kind) {
    case 'enum':
      return addEnumLabels(client, type);
    case 'composite':
      return addAttributes(client, type, found.oid);
    case 'domain': {
      const checks = await client.query<{ name: string }>(
        'SELECT conname AS name FROM pg_constraint WHERE contypid = $1',
        [found.oid],
      );
      return addDomainChecks(client, type, new Set(checks.rows.map((row) => row.name)), false, logger);
    }
    case 'range':
      return;
  }
}

function createStatement(type: UserType): string {
  const name = typeSql(type);
  switch (type.kind) {
    case 'enum':
      return `CREATE TYPE ${name} AS ENUM (${type.labels.map(literal).join(', ')})`;
    case 'domain':
      // CHECK constraints follow one by one (addDomainChecks), so one the replica cannot take stays alone.
      return `CREATE DOMAIN ${name} AS ${type.baseType}${type.notNull ? ' NOT NULL' : ''}`;
    case 'composite':
      return `CREATE TYPE ${name} AS (${type.attributes.map((a) => `${ident(a.name)} ${a.type}`).join(', ')})`;
    case 'range': {
      const options = [`SUBTYPE = ${type.subtype}`];
      if (type.multirange) options.push(`MULTIRANGE_TYPE_NAME = ${typeSql(type.multirange)}`);
      if (type.subtypeDiff) options.push(`SUBTYPE_DIFF = pg_catalog.${ident(type.subtypeDiff)}`);
      return `CREATE TYPE ${name} AS RANGE (${options.join(', ')})`;
    }
  }
}

/** Labels the replica lacks, each placed next to its neighbour in the source's list so the order matches. */
async function addEnumLabels(client: pg.Client, type: Extract<UserType, { kind: 'enum' }>): Promise<void> {
  const existing = await client.query<{ label: string }>(
    `SELECT e.enumlabel AS label FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
       JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2`,
    [type.schema, type.name],
  );
  const labels = new Set(existing.rows.map((row) => row.label));
  for (let i = 0; i < type.labels.length; i++) {
    const label = type.labels[i]!;
    if (labels.has(label)) continue;
    const previous = type.labels.slice(0, i).findLast((candidate) => labels.has(candidate));
    const next = type.labels.slice(i + 1).find((candidate) => labels.has(candidate));
    const place =
      previous !== undefined
        ? ` AFTER ${literal(previous)}`
        : next !== undefined
          ? ` BEFORE ${literal(next)}`
          : '';
    await client.query(`ALTER TYPE ${typeSql(type)} ADD VALUE IF NOT EXISTS ${literal(label)}${place}`);
    labels.add(label);
  }
}

async function addAttributes(
  client: pg.Client,
  type: Extract<UserType, { kind: 'composite' }>,
  oid: number,
): Promise<void> {
  const existing = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid
      WHERE t.oid = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
    [oid],
  );
  const names = new Set(existing.rows.map((row) => row.name));
  const missing = type.attributes.filter((attribute) => !names.has(attribute.name));
  if (missing.length === 0) return;
  await client.query(
    `ALTER TYPE ${typeSql(type)} ${missing.map((a) => `ADD ATTRIBUTE ${ident(a.name)} ${a.type}`).join(', ')}`,
  );
}

/**
 * The source's CHECK constraints. One added to a domain already in use is NOT VALID: the replica's rows were
 * checked at the source already, and validating could take long on big tables. One that
 * the replica cannot take (it calls a function only the source has) is left out with a warning: the source
 * enforces it, and refusing the table for it would stop replication of every row. So is one that calls
 * anything but the plain functions domain-check.ts lists: it would run on every row the replica writes, and
 * its text comes from Kafka (a malformed one never gets here: its table is refused before any DDL).
 */
async function addDomainChecks(
  client: pg.Client,
  type: Extract<UserType, { kind: 'domain' }>,
  present: ReadonlySet<string>,
  fresh: boolean,
  logger: Logger,
): Promise<void> {
  for (const check of type.checks) {
    if (present.has(check.name)) continue;
    const verdict = judgeDomainCheck(check.definition);
    if (verdict.kind !== 'ok') {
      logger.warn(
        {
          type: `${type.schema}.${type.name}`,
          constraint: check.name,
          calls: verdict.kind === 'unknown-call' ? verdict.name : null,
        },
        'domain constraint left out on the replica: it calls a function outside the plain ones a replica runs',
      );
      continue;
    }
    const notValid = fresh || check.definition.endsWith(' NOT VALID') ? '' : ' NOT VALID';
    try {
      await client.query(
        `ALTER DOMAIN ${typeSql(type)} ADD CONSTRAINT ${ident(check.name)} ${check.definition}${notValid}`,
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === DUPLICATE_OBJECT) continue;
      logger.warn(
        { type: `${type.schema}.${type.name}`, constraint: check.name, err: error },
        'domain constraint left out on the replica',
      );
    }
  }
}
