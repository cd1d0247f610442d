/**
 * A published table whose updates and deletes cannot be identified (REPLICA IDENTITY NOTHING, or DEFAULT
 * without a primary key) is still captured: its inserts and truncates flow like any other table's. PostgreSQL
 * itself refuses UPDATE and DELETE on such a table while the publication publishes them ("cannot update table
 * ... because it does not have a replica identity and publishes updates"), so no change goes missing from the
 * stream; the source's writers fail instead. Refusing the whole capture for it would stop every other table,
 * and a table created so while streaming could not be refused anyway; so the table is named, with the fix, in
 * the log and in the connector's status warnings.
 */
import type { PgTable } from '../types/catalog.ts';
import { qualifiedName } from '../types/pg-sql.ts';

/** The warning to show for `table`, or null when its updates and deletes can be captured. */
export function replicaIdentityWarning(table: PgTable, publishesUpdatesOrDeletes: boolean): string | null {
  if (!publishesUpdatesOrDeletes) return null;
  const name = qualifiedName(table.schema.schema, table.schema.table);
  const consequence =
    'only its inserts and truncates are captured; PostgreSQL refuses UPDATE and DELETE on it while the publication publishes them';
  if (table.identity === 'nothing')
    return `table ${name} has REPLICA IDENTITY NOTHING: ${consequence}. Fix: ALTER TABLE ${name} REPLICA IDENTITY FULL (or DEFAULT with a primary key)`;
  if (table.identity === 'default' && !table.hasPrimaryKey)
    return `table ${name} has no primary key and REPLICA IDENTITY DEFAULT: ${consequence}. Fix: add a primary key, or ALTER TABLE ${name} REPLICA IDENTITY FULL`;
  return null;
}
