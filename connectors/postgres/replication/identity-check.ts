/**
 * A table whose updates and deletes cannot be identified (REPLICA IDENTITY NOTHING, or DEFAULT without a
 * primary key) would make PostgreSQL reject UPDATE/DELETE on the source once published, or give consumers
 * changes they cannot apply: refuse at start-up, naming the table and the fix.
 */
import { CdcError } from '../../../common/errors.ts';
import type { PgTable } from '../types/catalog.ts';
import { qualifiedName } from '../types/pg-sql.ts';

export function checkReplicaIdentity(table: PgTable, publishesUpdatesOrDeletes: boolean): CdcError | null {
  if (!publishesUpdatesOrDeletes) return null;
  const name = qualifiedName(table.schema.schema, table.schema.table);
  if (table.identity === 'nothing') {
    return new CdcError(
      'SOURCE_TABLE_UNSUPPORTED',
      `table ${name} has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be captured: run ALTER TABLE ${name} REPLICA IDENTITY FULL (or DEFAULT with a primary key)`,
      { table: `${table.schema.schema}.${table.schema.table}` },
    );
  }
  if (table.identity === 'default' && !table.hasPrimaryKey) {
    return new CdcError(
      'SOURCE_TABLE_UNSUPPORTED',
      `table ${name} has no primary key and REPLICA IDENTITY DEFAULT, so its updates and deletes cannot be identified: add a primary key or run ALTER TABLE ${name} REPLICA IDENTITY FULL`,
      { table: `${table.schema.schema}.${table.schema.table}` },
    );
  }
  return null;
}
