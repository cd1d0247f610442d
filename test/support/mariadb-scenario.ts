/**
 * The stage of a failure scenario with a MariaDB source (MariaDB → Kafka → PostgreSQL): its own MariaDB
 * database holding the workload tables and a trigger-fed audit trail, its own PostgreSQL replica, pipeline
 * names and configuration file; the checks a user would make afterwards; and the clean-up of all of it.
 *
 * "Nothing applied twice" is made visible as in scenario.ts: the source's trail (MariaDB triggers, TRUNCATE
 * recorded by the workload) must equal the replica's (PostgreSQL triggers), entry for entry, in commit order.
 *
 * Order of use: createMariadbScenario → start the pipeline → armAudit → workload and failures →
 * assertConverged → stop the pipeline → cleanup.
 */
import assert from 'node:assert/strict';
import { verifyDatabases, type VerifyReport } from '../../services/verify/verify-replica.ts';
import { auditCount, auditTrail, installAudit } from './audit.ts';
import { createTestPipeline, type TestPipeline } from './binlog-pipeline.ts';
import { positionProblems, readChangelog } from './changelog.ts';
import { createMariadbDatabase, type MariadbTestDatabase } from './mariadb.ts';
import {
  MARIADB_WORKLOAD_SCHEMA,
  MARIADB_WORKLOAD_SEED,
  MARIADB_WORKLOAD_TABLES,
} from './mariadb-workload.ts';
import { createDatabase, type TestDatabase } from './pg.ts';
import { assertSameSequence } from './scenario.ts';
import { waitFor } from './wait.ts';

export const TRAIL = 'audit_trail';
export const TRAIL_TABLE = `CREATE TABLE \`${TRAIL}\` (seq bigint AUTO_INCREMENT PRIMARY KEY, tbl varchar(64) NOT NULL, op varchar(16) NOT NULL, k varchar(100))`;

export interface MariadbScenario {
  readonly pipeline: TestPipeline;
  readonly source: MariadbTestDatabase;
  readonly replica: TestDatabase;
  /** The captured tables, `database.table`. */
  readonly tables: readonly string[];
  /** Waits until the replica holds the seed rows, then attaches the audit triggers on both sides. */
  armAudit(): Promise<void>;
  /** Records a TRUNCATE in the source's trail (MariaDB fires no trigger for it). */
  recordTruncate(table: string): Promise<void>;
  /** Row changes the replica's trail holds so far. */
  replicaChanges(): Promise<number>;
  /** verify reports equal, the audit trails are equal, and the changelog holds every position once, in order. */
  assertConverged(when: string): Promise<ConvergedSummary>;
  cleanup(): Promise<void>;
}

export interface ConvergedSummary {
  readonly auditedChanges: number;
  readonly changelogEvents: number;
}

export interface MariadbScenarioOptions {
  readonly logLevel?: string;
  /** Leave out the audit (the trail only holds what committed, which a server restart makes uncertain). */
  readonly audit?: boolean;
  /** More seed SQL, run after the workload's own seed rows (a larger snapshot). */
  readonly seed?: string;
  /** Settings added to the source's (`ha`, for example). */
  readonly source?: Readonly<Record<string, unknown>>;
}

/** Waits until verify reports every table equal; fails with the last report's differences. */
export async function waitVerifiedEqual(
  what: string,
  run: () => Promise<VerifyReport>,
  timeoutMs = 240_000,
): Promise<VerifyReport> {
  const seen: { last: VerifyReport | null } = { last: null };
  try {
    return await waitFor(
      what,
      async () => {
        const report = await run();
        seen.last = report;
        return report.equal ? report : null;
      },
      { timeoutMs, intervalMs: 1_000 },
    );
  } catch (error) {
    const report = seen.last;
    if (report === null) throw error;
    assert.fail(`${what}: ${JSON.stringify({ failures: report.failures, tables: report.tables }, null, 1)}`);
  }
}

/** A MariaDB trail in commit order, one `table op key` line per recorded change (as audit.ts prints PostgreSQL's). */
export async function mariadbTrail(source: MariadbTestDatabase): Promise<string[]> {
  const rows = await source.query(
    `SELECT CONCAT(tbl, ' ', op, ' ', COALESCE(k, '-')) AS line FROM \`${TRAIL}\` ORDER BY seq`,
  );
  return rows.map((row) => row.line ?? '');
}

/** Audit triggers of `table` recording into TRAIL, created in the connection's database. */
export function triggers(table: string, key: string): string {
  const k = `\`${key}\``;
  const record = (op: string, value: string) =>
    `INSERT INTO \`${TRAIL}\` (tbl, op, k) VALUES ('${table}', '${op}', ${value})`;
  return `
    CREATE TRIGGER \`${table}_audit_i\` AFTER INSERT ON \`${table}\` FOR EACH ROW ${record('INSERT', `CAST(NEW.${k} AS CHAR)`)};
    CREATE TRIGGER \`${table}_audit_u\` AFTER UPDATE ON \`${table}\` FOR EACH ROW ${record(
      'UPDATE',
      `IF(OLD.${k} <=> NEW.${k}, CAST(NEW.${k} AS CHAR), CONCAT(OLD.${k}, '->', NEW.${k}))`,
    )};
    CREATE TRIGGER \`${table}_audit_d\` AFTER DELETE ON \`${table}\` FOR EACH ROW ${record('DELETE', `CAST(OLD.${k} AS CHAR)`)};`;
}

export async function createMariadbScenario(
  prefix: string,
  options: MariadbScenarioOptions = {},
): Promise<MariadbScenario> {
  const source = await createMariadbDatabase(`${prefix}_src`);
  const replica = await createDatabase(`${prefix}_dst`);
  await source.query(MARIADB_WORKLOAD_SCHEMA);
  await source.query(MARIADB_WORKLOAD_SEED);
  if (options.seed !== undefined) await source.query(options.seed);
  // The trail lives beside the tables but is not captured: the pipeline lists the workload tables only.
  await source.query(TRAIL_TABLE);
  const tables = MARIADB_WORKLOAD_TABLES.map((table) => `${source.name}.${table.name}`);
  const pipeline = await createTestPipeline({
    prefix,
    source: {
      kind: 'mariadb',
      url: source.url,
      tables,
      ...(options.source ? { settings: options.source } : {}),
    },
    replica: { kind: 'postgres', url: replica.url },
    onError: 'stop',
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
  });
  const verify = () =>
    verifyDatabases({
      sourceName: pipeline.sourceName,
      replicaName: pipeline.replicaName,
      sourceUrl: source.url,
      targetUrl: replica.url,
      tables,
      chunkRows: 2_000,
    });
  const replicaCount = async (table: string) =>
    Number(
      (await replica.query<{ n: string }>(`SELECT count(*) AS n FROM "${source.name}"."${table}"`)).rows[0]
        ?.n,
    );

  return {
    pipeline,
    source,
    replica,
    tables,
    async armAudit() {
      for (const table of MARIADB_WORKLOAD_TABLES) {
        const [row] = await source.query(`SELECT count(*) AS n FROM \`${table.name}\``);
        const expected = Number(row?.n);
        await waitFor(
          `the ${expected} seed rows of ${table.name} to reach the replica`,
          async () => (await replicaCount(table.name)) === expected,
          { timeoutMs: 180_000, intervalMs: 250 },
        );
      }
      await waitVerifiedEqual('the replica to equal the seeded source', verify);
      if (options.audit === false) return;
      for (const table of MARIADB_WORKLOAD_TABLES) await source.query(triggers(table.name, table.key));
      await installAudit(
        replica,
        MARIADB_WORKLOAD_TABLES.map((table) => ({ ...table, schema: source.name })),
      );
    },
    async recordTruncate(table) {
      await source.query(`INSERT INTO \`${TRAIL}\` (tbl, op, k) VALUES (?, 'TRUNCATE', NULL)`, [table]);
    },
    replicaChanges: () => auditCount(replica),
    async assertConverged(when) {
      let audited = 0;
      if (options.audit !== false) {
        const [row] = await source.query(`SELECT count(*) AS n FROM \`${TRAIL}\``);
        const expected = Number(row?.n);
        await waitFor(
          `the replica to apply all ${expected} source changes ${when}`,
          async () => (await auditCount(replica)) >= expected,
          { timeoutMs: 240_000, intervalMs: 250 },
        );
      }
      const report = await waitVerifiedEqual(`verify to report the replica equal ${when}`, verify);
      assert.equal(report.tables.length, tables.length, 'every table was compared');
      if (options.audit !== false) {
        const trail = await mariadbTrail(source);
        assertSameSequence(await auditTrail(replica), trail, `audit trail of the replica ${when}`);
        audited = trail.length;
      }
      const events = await readChangelog(pipeline.name, pipeline.topics.changelog);
      assert.ok(events.length > 0, `the changelog ${pipeline.topics.changelog} holds events`);
      assert.deepEqual(
        positionProblems(events),
        [],
        `changelog ${pipeline.topics.changelog} positions ${when}`,
      );
      return { auditedChanges: audited, changelogEvents: events.length };
    },
    async cleanup() {
      await source.drop();
      await replica.drop();
      await pipeline.cleanup();
    },
  };
}
