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
import type { StatementSyntax } from '../sql-dialect.ts';
import type { PostgresConnection } from './postgres-connection.ts';
import { microsToTimestamp } from './sql.ts';

const TOMBSTONE_DDL = [
  `CREATE TABLE IF NOT EXISTS cdc_apply.tombstones (
    table_name text NOT NULL,
    key_json text NOT NULL,
    origin text NOT NULL,
    commit_ts timestamp(6) NOT NULL,
    commit_micros bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, key_json))`,
  'CREATE INDEX IF NOT EXISTS tombstones_recorded_at ON cdc_apply.tombstones (recorded_at)',
];

export function postgresConflicts(syntax: StatementSyntax): ConflictDialect<PostgresConnection> {
  return {
    flavor: 'postgres',
    create: [...POSTGRES_CONFLICT_DDL, ...TOMBSTONE_DDL],

    async lockRow(connection, shape, key, compare, originNode) {
      const values: unknown[] = [];
      const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
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
      const text = `SELECT row_to_json(t)::text AS local_json,
          t.xmin = pg_current_xact_id()::xid AS mine,
          (extract(epoch FROM c.timestamp) * 1000000)::bigint AS commit_micros,
          (SELECT roname FROM pg_replication_origin o WHERE o.roident = c.roident AND c.roident <> 0) AS origin_name
          ${checks.map((check) => `, ${check}`).join('')}
        FROM ${shape.sql} t LEFT JOIN LATERAL pg_xact_commit_timestamp_origin(t.xmin) c ON true
        WHERE ${where.join(' AND ')} FOR UPDATE OF t`;
      const result = await connection.run({ text, values });
      const row = result.rows[0];
      if (!row) return null;
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
      return { json: String(row.local_json), version, equal } satisfies LocalRow;
    },

    async readTombstone(connection, table, keyJson) {
      const result = await connection.run({
        text: 'SELECT origin, commit_micros FROM cdc_apply.tombstones WHERE table_name = $1 AND key_json = $2 FOR UPDATE',
        values: [table, keyJson],
      });
      const row = result.rows[0];
      return row ? { origin: String(row.origin), commitMicros: BigInt(String(row.commit_micros)) } : null;
    },

    async writeTombstone(connection, table, keyJson, version) {
      await connection.run({
        text: `INSERT INTO cdc_apply.tombstones AS old (table_name, key_json, origin, commit_ts, commit_micros)
          VALUES ($1, $2, $3, $4::timestamptz AT TIME ZONE 'UTC', $5)
          ON CONFLICT (table_name, key_json) DO UPDATE
            SET origin = EXCLUDED.origin, commit_ts = EXCLUDED.commit_ts, commit_micros = EXCLUDED.commit_micros, recorded_at = now()
            WHERE EXCLUDED.commit_micros > old.commit_micros
               OR (EXCLUDED.commit_micros = old.commit_micros AND EXCLUDED.origin COLLATE "C" > old.origin COLLATE "C")`,
        values: [
          table,
          keyJson,
          version.origin,
          microsToTimestamp(version.commitMicros),
          version.commitMicros.toString(),
        ],
      });
    },

    async removeTombstone(connection, table, keyJson) {
      await connection.run({
        text: 'DELETE FROM cdc_apply.tombstones WHERE table_name = $1 AND key_json = $2',
        values: [table, keyJson],
      });
    },

    async collectTombstones(connection, retentionMillis, limit) {
      const result = await connection.run({
        text: `DELETE FROM cdc_apply.tombstones WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM cdc_apply.tombstones WHERE recorded_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2))`,
        values: [retentionMillis, limit],
      });
      return result.count;
    },

    isUniqueViolation(error) {
      return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
    },
  };
}
