/**
 * "Nothing applied twice", made visible: trigger-fed audit trails on the source tables and on the replica
 * tables record every row change (operation and key, key changes as `old->new`) and every truncate, in commit
 * order. If the replica's trail equals the source's, each source change was applied exactly once, even where
 * applying it twice would have left the same rows behind (an update replayed with the same values).
 *
 * The triggers are ENABLE ALWAYS so they fire also in a session with `session_replication_role = replica`.
 * The trail lives in its own schema, outside the captured `public` tables.
 */
import type { TestDatabase } from './pg.ts';

export interface AuditedTable {
  /** Table name. */
  readonly name: string;
  /** Its schema; `public` when absent. */
  readonly schema?: string;
  /** Its primary-key column. */
  readonly key: string;
}

const SCHEMA = 'cdc_test_audit';

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Creates the trail and attaches the triggers; changes made before this are not recorded. */
export async function installAudit(db: TestDatabase, tables: readonly AuditedTable[]): Promise<void> {
  await db.query(`
    CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
    CREATE TABLE IF NOT EXISTS ${SCHEMA}.trail (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      tbl text NOT NULL,
      op text NOT NULL,
      key text
    );
    CREATE OR REPLACE FUNCTION ${SCHEMA}.record_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      old_key text := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) ->> TG_ARGV[0] END;
      new_key text := CASE WHEN TG_OP IN ('UPDATE', 'INSERT') THEN to_jsonb(NEW) ->> TG_ARGV[0] END;
    BEGIN
      INSERT INTO ${SCHEMA}.trail (tbl, op, key) VALUES (
        TG_TABLE_NAME,
        TG_OP,
        CASE
          WHEN TG_OP = 'DELETE' THEN old_key
          WHEN TG_OP = 'UPDATE' AND old_key IS DISTINCT FROM new_key THEN old_key || '->' || new_key
          ELSE new_key
        END);
      RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION ${SCHEMA}.record_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${SCHEMA}.trail (tbl, op, key) VALUES (TG_TABLE_NAME, TG_OP, NULL);
      RETURN NULL;
    END $$;
  `);
  for (const table of tables) {
    const target = `${ident(table.schema ?? 'public')}.${ident(table.name)}`;
    await db.query(`
      CREATE TRIGGER cdc_test_audit_row AFTER INSERT OR UPDATE OR DELETE ON ${target}
        FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.record_row(${literal(table.key)});
      CREATE TRIGGER cdc_test_audit_truncate AFTER TRUNCATE ON ${target}
        FOR EACH STATEMENT EXECUTE FUNCTION ${SCHEMA}.record_truncate();
      ALTER TABLE ${target} ENABLE ALWAYS TRIGGER cdc_test_audit_row;
      ALTER TABLE ${target} ENABLE ALWAYS TRIGGER cdc_test_audit_truncate;
    `);
  }
}

/** The trail in commit order, one `table op key` line per recorded change. */
export async function auditTrail(db: TestDatabase): Promise<string[]> {
  const result = await db.query<{ line: string }>(
    `SELECT tbl || ' ' || op || ' ' || coalesce(key, '-') AS line FROM ${SCHEMA}.trail ORDER BY seq`,
  );
  return result.rows.map((row) => row.line);
}

export async function auditCount(db: TestDatabase): Promise<number> {
  const result = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.trail`);
  return Number(result.rows[0]?.n ?? 0);
}
