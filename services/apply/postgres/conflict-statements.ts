/**
 * Conflict handling on PostgreSQL: the local row is locked with SELECT ... FOR UPDATE and its version read
 * from the commit timestamp data of its xmin (`track_commit_timestamp = on`): pg_xact_commit_timestamp_origin
 * gives the commit time and the replication origin id (0 for a local write). The sink's commits set the
 * original commit time with pg_replication_origin_xact_setup, so a replicated row keeps the time its origin
 * gave it, and both nodes of a link read the same version for the same row.
 */
import type { ConflictDialect, LocalRow } from '../conflicts/conflict-dialect.ts';
import { POSTGRES_CONFLICT_DDL } from '../conflicts/conflict-log.ts';
import type { Version } from '../conflicts/types.ts';
import type { Row } from '../../../schemas/events/change-event.ts';
import type { StatementSyntax, TableShape } from '../sql-dialect.ts';
import type { PostgresConnection } from './postgres-connection.ts';
import { literal, microsToTimestamp } from './sql.ts';
import { declaredType } from './type-mapping.ts';
import { matchesAny } from '../../../schemas/events/table-names.ts';

/**
 * Tombstones are keyed by the key's values as PostgreSQL renders them in JSON (json_build_array of the typed
 * values), so the sink and the trigger on local deletes name a key alike. A local delete's tombstone holds its
 * transaction id: its commit time is read when the tombstone is, from the commit timestamp data. The trigger
 * function runs as its owner (the sink's user), so the application's users need no rights on cdc_apply.
 */
const TOMBSTONE_DDL = [
  `CREATE TABLE IF NOT EXISTS cdc_apply.tombstones (
    table_name text NOT NULL,
    key_json text NOT NULL,
    origin text,
    commit_ts timestamp(6),
    commit_micros bigint,
    local_xid xid8,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, key_json))`,
  'CREATE INDEX IF NOT EXISTS tombstones_recorded_at ON cdc_apply.tombstones (recorded_at)',
  `CREATE OR REPLACE FUNCTION cdc_apply.tombstone_local_delete() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    DECLARE
      key text;
    BEGIN
      EXECUTE format('SELECT json_build_array(%s)::text',
          (SELECT string_agg(format('($1).%I', name), ', ') FROM unnest(TG_ARGV[1:]) AS name))
        INTO key USING OLD;
      INSERT INTO cdc_apply.tombstones (table_name, key_json, origin, commit_ts, commit_micros, local_xid)
        VALUES (TG_ARGV[0], key, NULL, NULL, NULL, pg_current_xact_id())
        ON CONFLICT (table_name, key_json) DO UPDATE
          SET origin = NULL, commit_ts = NULL, commit_micros = NULL, local_xid = EXCLUDED.local_xid, recorded_at = now();
      RETURN NULL;
    END
  $fn$`,
];

/** `json_build_array($n::type, ...)::text` of a key, its values pushed to `values`. */
function keyText(syntax: StatementSyntax, shape: TableShape, key: Row, values: unknown[]): string {
  const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
  const parts = shape.table.key.map((name) => {
    const column = byName.get(name)!;
    values.push(syntax.parameter(key[name], column, shape.table));
    return `CAST(${syntax.placeholder(values.length)} AS ${declaredType(shape.table, column)})`;
  });
  return `json_build_array(${parts.join(', ')})::text`;
}

/** The tombstone columns of the lock query as a version: a local delete's time comes from its transaction id. */
function tombstoneVersion(
  row: Record<string, unknown>,
  originNode: (origin: string | null) => string,
): Version | null {
  if (row.tomb_present !== 't' && row.tomb_present !== true) return null;
  if (typeof row.tomb_origin === 'string')
    return { origin: row.tomb_origin, commitMicros: BigInt(String(row.tomb_micros)) };
  const micros = row.tomb_local;
  return { origin: originNode(null), commitMicros: typeof micros === 'string' ? BigInt(micros) : 0n };
}

/**
 * The triggers leaving a tombstone, named `table` (the source's `schema.table`, as the sink names it), for a local
 * delete of `sqlName`, and for the old key of a local update that moves a row to another key. The sink's own
 * deletes fire the first too; it then overwrites the tombstone with the change's version. (The sink applies a
 * replicated key change as a delete and an insert, so the second fires for local updates only.)
 */
async function createTriggers(
  connection: PostgresConnection,
  syntax: StatementSyntax,
  sqlName: string,
  table: string,
  key: readonly string[],
): Promise<void> {
  const args = [table, ...key].map((name) => literal(name)).join(', ');
  const keys = key.map((name) => syntax.ident(name));
  await connection.run({
    text: `CREATE OR REPLACE TRIGGER cdc_tombstone AFTER DELETE ON ${sqlName} FOR EACH ROW
      EXECUTE FUNCTION cdc_apply.tombstone_local_delete(${args})`,
    values: [],
  });
  const old = keys.map((name) => `OLD.${name}`).join(', ');
  const next = keys.map((name) => `NEW.${name}`).join(', ');
  await connection.run({
    text: `CREATE OR REPLACE TRIGGER cdc_tombstone_key AFTER UPDATE OF ${keys.join(', ')} ON ${sqlName} FOR EACH ROW
      WHEN (ROW(${old}) IS DISTINCT FROM ROW(${next}))
      EXECUTE FUNCTION cdc_apply.tombstone_local_delete(${args})`,
    values: [],
  });
}

/**
 * The type of each column of the target table as a parameter compared with or written into it gets (its type
 * without modifier: `bpchar`, not `character`, which means `character(1)`), so a value cast to it converts
 * exactly as an untyped parameter in `col = $1` or `INSERT ... VALUES ($1)` would.
 */
async function parameterTypes(
  connection: PostgresConnection,
  sqlName: string,
): Promise<ReadonlyMap<string, string>> {
  const result = await connection.run({
    text: `SELECT attname, format_type(atttypid, -1) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    values: [sqlName],
  });
  return new Map(result.rows.map((row) => [String(row.attname), String(row.type)]));
}

/**
 * One statement inserting `rows` (keys distinct) in order up to the first whose key has a row or a tombstone,
 * as of the statement's start, each with ON CONFLICT DO NOTHING; it answers that row's index (`stop_at`) and the
 * indexes of the rows inserted. Every value is cast to the column's parameter type, and each row carries its
 * tombstone key built as `keyText` builds it. The existence checks are scalar subqueries, not EXISTS: PostgreSQL
 * may turn `EXISTS ... OR EXISTS ...` into hashed subplans, which read the whole target table into a hash for
 * every statement; it chose that for a table of 255,000 rows, 150 ms a statement of 1,000 rows, growing with the
 * table. A scalar subquery is never hashed, so each row is one probe of the key index.
 */
function insertNewStatement(
  syntax: StatementSyntax,
  shape: TableShape,
  table: string,
  rows: readonly Row[],
  types: ReadonlyMap<string, string>,
): { text: string; values: unknown[] } {
  const values: unknown[] = [table];
  const columns = shape.table.columns;
  const tuples = rows.map((row, index) => {
    const tombstone = keyText(syntax, shape, row, values);
    const cells = columns.map((column) => {
      values.push(syntax.parameter(row[column.name], column, shape.table));
      return `CAST(${syntax.placeholder(values.length)} AS ${types.get(column.name)!})`;
    });
    return `(${index}, ${tombstone}, ${cells.join(', ')})`;
  });
  const names = columns.map((column) => syntax.ident(column.name));
  const keys = shape.table.key.map((name) => syntax.ident(name));
  const sameKey = (left: string, right: string): string =>
    keys.map((name) => `${left}.${name} = ${right}.${name}`).join(' AND ');
  const text = `WITH v ("cdc ord", "cdc tombstone", ${names.join(', ')}) AS (VALUES ${tuples.join(', ')}),
    stop AS (SELECT coalesce(min(v."cdc ord"), ${rows.length}) AS at FROM v
      WHERE (SELECT 1 FROM ${shape.sql} t WHERE ${sameKey('t', 'v')} LIMIT 1) IS NOT NULL
         OR (SELECT 1 FROM cdc_apply.tombstones tb WHERE tb.table_name = $1 AND tb.key_json = v."cdc tombstone" LIMIT 1) IS NOT NULL),
    ins AS (INSERT INTO ${shape.sql} (${names.join(', ')})
      SELECT ${names.map((name) => `v.${name}`).join(', ')} FROM v, stop WHERE v."cdc ord" < stop.at ORDER BY v."cdc ord"
      ON CONFLICT DO NOTHING RETURNING ${keys.join(', ')})
    SELECT (SELECT at FROM stop) AS stop_at, (SELECT json_agg(v."cdc ord") FROM v JOIN ins ON ${sameKey('ins', 'v')})::text AS inserted`;
  return { text, values };
}

/**
 * The key locks of `keys` (see ConflictDialect.lockKeys): transaction-scoped advisory locks, the table's in
 * the two-int key space and each key's in the bigint one (the two never overlap). Keys are locked in hash
 * order, so two sessions locking overlapping sets in one statement each cannot deadlock on them.
 */
function keyLockStatement(
  syntax: StatementSyntax,
  shape: TableShape,
  table: string,
  keys: readonly Row[],
  scope: 'keys' | 'table',
  lockRows: boolean,
): { text: string; values: unknown[] } {
  const values: unknown[] = [table];
  const parts = [
    scope === 'table'
      ? 'pg_advisory_xact_lock(hashtext($1), 1) AS table_lock'
      : 'pg_advisory_xact_lock_shared(hashtext($1), 1) AS table_lock',
  ];
  if (scope === 'keys') {
    const tuples = keys.map((key) => `(${keyText(syntax, shape, key, values)})`);
    parts.push(`(SELECT count(*) FROM (SELECT pg_advisory_xact_lock(h) FROM (
        SELECT DISTINCT hashtextextended($1 || ' ' || k, 0) AS h FROM (VALUES ${tuples.join(', ')}) v(k)) d
        ORDER BY h) s) AS key_locks`);
  }
  if (lockRows) {
    const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
    const matches = keys.map((key) =>
      shape.table.key
        .map((name) => {
          values.push(syntax.parameter(key[name], byName.get(name)!, shape.table));
          return `t.${syntax.ident(name)} = ${syntax.placeholder(values.length)}`;
        })
        .join(' AND '),
    );
    parts.push(`(SELECT count(*) FROM (SELECT 1 FROM ${shape.sql} t
        WHERE (${matches.join(') OR (')}) FOR UPDATE OF t) r) AS row_locks`);
  }
  return { text: `SELECT ${parts.join(', ')}`, values };
}

export function postgresConflicts(syntax: StatementSyntax): ConflictDialect<PostgresConnection> {
  /** Per table shape, its columns' parameter types (a changed table is a new shape). */
  const typesOf = new WeakMap<TableShape, ReadonlyMap<string, string>>();
  return {
    flavor: 'postgres',
    create: [...POSTGRES_CONFLICT_DDL, ...TOMBSTONE_DDL],

    async lockKeys(connection, shape, table, keys, scope, lockRows) {
      if (keys.length === 0) return;
      await connection.run(keyLockStatement(syntax, shape, table, keys, scope, lockRows));
    },

    async lockRow(connection, shape, table, key, compare, originNode) {
      const values: unknown[] = [table];
      const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
      const tombstoneKey = keyText(syntax, shape, key, values);
      const where = shape.table.key.map((name) => {
        values.push(syntax.parameter(key[name], byName.get(name)!, shape.table));
        return `t.${syntax.ident(name)} = ${syntax.placeholder(values.length)}`;
      });
      const compared = Object.keys(compare).filter((name) => byName.has(name) && compare[name] !== undefined);
      const checks = compared.map((name, index) => {
        const column = byName.get(name)!;
        values.push(syntax.parameter(compare[name], column, shape.table));
        const test = syntax.nullSafeEquals(shape.table, column, syntax.placeholder(values.length));
        return `(${test.replaceAll(syntax.ident(name), `t.${syntax.ident(name)}`)}) AS eq_${index}`;
      });
      // One round trip: the row (locked) and the key's tombstone, each or both absent.
      const text = `SELECT r.*, tb.present AS tomb_present, tb.origin AS tomb_origin, tb.commit_micros AS tomb_micros, tb.local_micros AS tomb_local
        FROM (SELECT 1) one
        LEFT JOIN LATERAL (
          SELECT row_to_json(t)::text AS local_json,
            t.xmin = pg_current_xact_id()::xid AS mine,
            (extract(epoch FROM c.timestamp) * 1000000)::bigint AS commit_micros,
            (SELECT roname FROM pg_replication_origin o WHERE o.roident = c.roident AND c.roident <> 0) AS origin_name
            ${checks.map((check) => `, ${check}`).join('')}
          FROM ${shape.sql} t LEFT JOIN LATERAL pg_xact_commit_timestamp_origin(t.xmin) c ON true
          WHERE ${where.join(' AND ')} FOR UPDATE OF t) r ON true
        LEFT JOIN LATERAL (
          SELECT true AS present, origin, commit_micros,
            (extract(epoch FROM pg_xact_commit_timestamp(local_xid::xid)) * 1000000)::bigint AS local_micros
          FROM cdc_apply.tombstones WHERE table_name = $1 AND key_json = ${tombstoneKey}) tb ON true`;
      const row = (await connection.run({ text, values })).rows[0] ?? {};
      const tombstone = tombstoneVersion(row, originNode);
      const json = row.local_json;
      if (typeof json !== 'string') return { local: null, tombstone };
      const micros = row.commit_micros;
      const version: Version | null =
        row.mine === 't' || row.mine === true
          ? null
          : {
              // A row without commit time data (written before track_commit_timestamp was on) is the oldest.
              commitMicros: typeof micros === 'string' ? BigInt(micros) : 0n,
              origin: originNode(typeof row.origin_name === 'string' ? row.origin_name : null),
            };
      const equal = new Set(
        compared.filter((_, index) => row[`eq_${index}`] === 't' || row[`eq_${index}`] === true),
      );
      return { local: { json, version, equal } satisfies LocalRow, tombstone };
    },

    async prepareTable(connection, shape, table) {
      await createTriggers(connection, syntax, shape.sql, table, shape.table.key);
    },

    async protectTables(connection, patterns) {
      // Keyed tables without both triggers, outside the sink's own schema; the key in index order. A table is named
      // as in the target here: where a link maps schemas, the link's first write of it renames it as the source's.
      const result = await connection.run({
        text: `SELECT n.nspname AS schema_name, c.relname AS table_name,
            (SELECT json_agg(a.attname ORDER BY k.ord)::text
               FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS key_json
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.indisprimary AND c.relkind IN ('r', 'p')
            AND n.nspname NOT IN ('cdc_apply', 'pg_catalog', 'information_schema')
            AND (SELECT count(*) FROM pg_trigger t
                  WHERE t.tgrelid = c.oid AND t.tgname IN ('cdc_tombstone', 'cdc_tombstone_key')) < 2`,
        values: [],
      });
      const prepared: string[] = [];
      for (const row of result.rows) {
        const name = { schema: String(row.schema_name), table: String(row.table_name) };
        if (!matchesAny(patterns, name)) continue;
        const key = JSON.parse(String(row.key_json)) as string[];
        const table = `${name.schema}.${name.table}`;
        const sqlName = `${syntax.ident(name.schema)}.${syntax.ident(name.table)}`;
        await createTriggers(connection, syntax, sqlName, table, key);
        prepared.push(table);
      }
      return prepared;
    },

    async writeTombstone(connection, shape, table, key, version) {
      const values: unknown[] = [
        table,
        version.origin,
        microsToTimestamp(version.commitMicros),
        version.commitMicros.toString(),
      ];
      await connection.run({
        text: `INSERT INTO cdc_apply.tombstones AS old (table_name, key_json, origin, commit_ts, commit_micros)
          VALUES ($1, ${keyText(syntax, shape, key, values)}, $2, $3::timestamptz AT TIME ZONE 'UTC', $4)
          ON CONFLICT (table_name, key_json) DO UPDATE
            SET origin = EXCLUDED.origin, commit_ts = EXCLUDED.commit_ts, commit_micros = EXCLUDED.commit_micros,
              local_xid = NULL, recorded_at = now()
            WHERE old.commit_micros IS NULL OR EXCLUDED.commit_micros > old.commit_micros
               OR (EXCLUDED.commit_micros = old.commit_micros AND EXCLUDED.origin COLLATE "C" > old.origin COLLATE "C")`,
        values,
      });
    },

    async removeTombstone(connection, shape, table, key) {
      const values: unknown[] = [table];
      await connection.run({
        text: `DELETE FROM cdc_apply.tombstones WHERE table_name = $1 AND key_json = ${keyText(syntax, shape, key, values)}`,
        values,
      });
    },

    // Never prepared: PostgreSQL switches a prepared statement to a generic plan after
    // a few runs, planned with the table as it was then (often nearly empty at the start of a catch-up), and
    // this statement's existence checks kept that plan as the table grew. Planned for each run, conflict-checked
    // apply of 500,000 inserts (`npm run bench`) went from 10.5k to 20.8k rows/s.
    async insertNew(connection, shape, table, rows) {
      let types = typesOf.get(shape);
      if (types === undefined) {
        types = await parameterTypes(connection, shape.sql);
        typesOf.set(shape, types);
      }
      const known = types;
      if (rows.length === 0 || !shape.table.columns.every((column) => known.has(column.name))) return null;
      const statement = insertNewStatement(syntax, shape, table, rows, known);
      const result = await connection.run(statement);
      const row = result.rows[0] ?? {};
      const inserted = typeof row.inserted === 'string' ? (JSON.parse(row.inserted) as number[]) : [];
      return { stop: Number(row.stop_at), inserted: new Set(inserted) };
    },

    async collectTombstones(connection, retentionMillis, limit) {
      const result = await connection.run({
        text: `DELETE FROM cdc_apply.tombstones WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM cdc_apply.tombstones WHERE recorded_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2))`,
        values: [retentionMillis, limit],
      });
      return result.count;
    },

    onAnyConflictNothing: 'ON CONFLICT DO NOTHING',

    clock: 'SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS micros',

    isUniqueViolation(error) {
      return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
    },
  };
}
