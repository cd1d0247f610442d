/**
 * The replication origin functions the PostgreSQL sink calls to mark its commits (postgres-dialect.ts). Only
 * superusers may call them until EXECUTE is granted (possible from PostgreSQL 14).
 */
import { ident } from './sql.ts';

export const ORIGIN_FUNCTIONS = [
  'pg_replication_origin_create(text)',
  'pg_replication_origin_oid(text)',
  'pg_replication_origin_session_setup(text)',
  'pg_replication_origin_session_reset()',
  'pg_replication_origin_xact_setup(pg_lsn, timestamptz)',
] as const;

/** The statement that lets `user` mark its commits with replication origins. */
export function originGrant(user: string): string {
  return `GRANT EXECUTE ON FUNCTION ${ORIGIN_FUNCTIONS.join(', ')} TO ${ident(user)}`;
}
