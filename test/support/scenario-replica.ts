/**
 * The replica side of a failure scenario (scenario.ts): a PostgreSQL or a MariaDB database receiving the
 * PostgreSQL workload, with what the scenario asks of it whatever its kind: when the seed rows arrived, the
 * audit trail of every row change applied (so "nothing applied twice" is visible), equality with the source,
 * and ending the apply worker's sessions (the connection-drop scenario).
 */
import { auditCount, auditTrail, installAudit } from './audit.ts';
import { createMariadbDatabase, forgetMariadbAppliedPosition, mariadbAdminQuery } from './mariadb.ts';
import { mariadbTrail, TRAIL, TRAIL_TABLE, triggers } from './mariadb-scenario.ts';
import { adminQuery, createDatabase, dropOriginsOf, tableContent, type TestDatabase } from './pg.ts';
import { waitFor } from './wait.ts';

export type ReplicaKind = 'postgres' | 'mariadb';

export const WORKLOAD_TABLES = [
  { name: 'accounts', key: 'id' },
  { name: 'events', key: 'seq' },
] as const;

/**
 * The workload tables as both databases print them, for comparing a MariaDB replica with its PostgreSQL source
 * row for row: numbers and text as text, TOAST-sized notes by digest, times as UTC microsecond text, JSON
 * (jsonb, and text[] which MariaDB holds as a JSON array) parsed before comparing. (verify, services/verify,
 * does not compare a text[] with the JSON array it becomes yet.)
 */
const CROSS_DIALECT_VIEWS = [
  {
    name: 'accounts',
    json: ['tags'],
    postgres: `SELECT id::text AS id, owner, balance::text AS balance, md5(big_note) AS note, to_json(tags)::text AS tags,
      to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS updated_at FROM accounts ORDER BY id`,
    mariadb: `SELECT CAST(id AS CHAR) AS id, owner, CAST(balance AS CHAR) AS balance, md5(big_note) AS note, tags,
      DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at FROM accounts ORDER BY id`,
  },
  {
    name: 'events',
    json: ['payload'],
    postgres: `SELECT seq::text AS seq, account_id::text AS account_id, kind, payload::text AS payload,
      to_char(at, 'YYYY-MM-DD HH24:MI:SS.US') AS at FROM events ORDER BY seq`,
    mariadb: `SELECT CAST(seq AS CHAR) AS seq, CAST(account_id AS CHAR) AS account_id, kind, payload,
      DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') AS at FROM events ORDER BY seq`,
  },
] as const;

type TextRow = Record<string, string | null>;

function normalized(rows: readonly TextRow[], json: readonly string[]): string[] {
  return rows.map((row) =>
    JSON.stringify(
      Object.fromEntries(
        Object.entries(row).map(([name, value]) => [
          name,
          json.includes(name) && value !== null ? (JSON.parse(value) as unknown) : value,
        ]),
      ),
    ),
  );
}

/** '' when equal, else the first row that differs, for the failure message. */
function firstDifference(actual: readonly string[], expected: readonly string[]): string {
  if (actual.length !== expected.length)
    return `${actual.length} rows on the replica, ${expected.length} on the source`;
  const index = actual.findIndex((row, i) => row !== expected[i]);
  return index < 0 ? '' : `row ${index}: replica ${actual[index]}, source ${expected[index]}`;
}

export interface ScenarioReplica {
  readonly kind: ReplicaKind;
  /** The replica's URL for the pipeline configuration. */
  readonly url: string;
  /** Waits until the replica holds the source's seed rows. */
  waitSeeded(source: TestDatabase): Promise<void>;
  /** Attaches the audit trail; changes applied before are not recorded. */
  installAudit(): Promise<void>;
  /** Row changes recorded by the trail so far. */
  changes(): Promise<number>;
  /** The trail in commit order, `table op key` per change, as audit.ts prints the source's. */
  trail(): Promise<string[]>;
  /** Waits until every workload table equals the source's. */
  waitEqual(source: TestDatabase, sourceName: string, when: string): Promise<void>;
  /** Ends the apply worker's sessions on the replica; how many it ended (0 while none is busy). */
  terminateApply(): Promise<number>;
  /** What the pipeline left on the replica's server outside its database (origin, applied position). */
  forget(sourceName: string): Promise<void>;
  drop(): Promise<void>;
}

async function terminated(sql: string, params: readonly unknown[]): Promise<number> {
  const result = await adminQuery(sql, params);
  return result.rows.filter((row: { ended?: unknown }) => row.ended === 't' || row.ended === true).length;
}

export async function postgresReplica(
  prefix: string,
): Promise<ScenarioReplica & { readonly db: TestDatabase }> {
  const db = await createDatabase(`${prefix}_dst`);
  const matches = async (source: TestDatabase, table: string, order: string): Promise<boolean> =>
    JSON.stringify(await tableContent(db, table, order)) ===
    JSON.stringify(await tableContent(source, table, order));
  return {
    kind: 'postgres',
    url: db.url,
    db,
    async waitSeeded(source) {
      for (const table of WORKLOAD_TABLES)
        await waitFor(
          `the seed rows of ${table.name} to reach the replica`,
          () => matches(source, table.name, table.key),
          {
            timeoutMs: 180_000,
            intervalMs: 250,
          },
        );
    },
    installAudit: () => installAudit(db, WORKLOAD_TABLES),
    changes: () => auditCount(db),
    trail: () => auditTrail(db),
    async waitEqual(source, _sourceName, when) {
      for (const table of WORKLOAD_TABLES)
        await waitFor(
          `replica ${table.name} to equal the source ${when}`,
          () => matches(source, table.name, table.key),
          {
            timeoutMs: 120_000,
            intervalMs: 250,
          },
        );
    },
    terminateApply: () =>
      terminated(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cdc-apply'`,
        [db.name],
      ),
    async forget(sourceName) {
      await dropOriginsOf(sourceName);
    },
    drop: () => db.drop(),
  };
}

/**
 * A MariaDB replica: every source table lands in one database (named in the URL). A source TRUNCATE is applied
 * as a DELETE there (TRUNCATE would commit implicitly), which fires row triggers: run the workload without
 * truncates so the trails compare entry for entry.
 */
export async function mariadbReplica(prefix: string): Promise<ScenarioReplica> {
  const db = await createMariadbDatabase(`${prefix}_dst`);
  const count = async (table: string): Promise<number> =>
    Number((await db.query(`SELECT count(*) AS n FROM \`${table}\``))[0]?.n ?? 0);
  return {
    kind: 'mariadb',
    url: db.url,
    async waitSeeded(source) {
      for (const table of WORKLOAD_TABLES) {
        const expected = Number(
          (await source.query<{ n: string }>(`SELECT count(*) AS n FROM ${table.name}`)).rows[0]?.n,
        );
        await waitFor(
          `the ${expected} seed rows of ${table.name} to reach the replica`,
          async () => (await count(table.name).catch(() => -1)) === expected,
          { timeoutMs: 180_000, intervalMs: 250 },
        );
      }
    },
    async installAudit() {
      await db.query(TRAIL_TABLE);
      for (const table of WORKLOAD_TABLES) await db.query(triggers(table.name, table.key));
    },
    changes: () => count(TRAIL),
    trail: () => mariadbTrail(db),
    async waitEqual(source, _sourceName, when) {
      for (const table of CROSS_DIALECT_VIEWS) {
        const sourceRows = async () =>
          normalized((await source.query<Record<string, string | null>>(table.postgres)).rows, table.json);
        const replicaRows = async () => normalized(await db.query(table.mariadb), table.json);
        let last = '';
        await waitFor(
          `replica ${table.name} to equal the source ${when}`,
          async () => {
            const [expected, actual] = [await sourceRows(), await replicaRows()];
            last = firstDifference(actual, expected);
            return last === '';
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        ).catch((error: unknown) => {
          throw new Error(`${error instanceof Error ? error.message : String(error)}; ${last}`);
        });
      }
    },
    async terminateApply() {
      // The sink's statements writing into this database: the only writer there besides the triggers it fires.
      const busy = await mariadbAdminQuery(
        `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND DB IS NULL AND (INFO LIKE ? OR INFO LIKE ? OR INFO LIKE ?)`,
        [`INSERT INTO \`${db.name}\`.%`, `UPDATE \`${db.name}\`.%`, `DELETE FROM \`${db.name}\`.%`],
      );
      let ended = 0;
      for (const row of busy) {
        // The statement may have finished meanwhile, or the session ended by itself: nothing to end then.
        const killed = await mariadbAdminQuery(`KILL CONNECTION ${Number(row.id)}`).then(
          () => true,
          () => false,
        );
        if (killed) ended++;
      }
      return ended;
    },
    forget: (sourceName) => forgetMariadbAppliedPosition(sourceName),
    drop: () => db.drop(),
  };
}
