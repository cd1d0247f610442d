/**
 * The point at which the new PostgreSQL primary takes over: the reverse path's publication, then its logical
 * slot, created while the old source is fenced and the replica holds everything up to the fence. The slot's
 * consistent point is the takeover LSN: it retains every change committed on PostgreSQL after it, so the
 * reverse path misses nothing written once applications moved, whenever it is started.
 *
 * The publication comes first: pgoutput reads publications with the catalog as of each change, so a slot
 * older than its publication would fail on the changes in between.
 */
import pg from 'pg';
import { ensurePublication } from '../../connectors/postgres/replication/publication.ts';
import { CdcError, asCdcError } from '../../common/errors.ts';
import type { MigrationPlan } from './plan.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';

export interface TakeoverPoint {
  readonly lsn: string;
  readonly slot: string;
  readonly publication: string;
}

export async function createTakeoverPoint(plan: MigrationPlan): Promise<TakeoverPoint> {
  const { slot, publication, tables } = plan.reverse;
  const pool = new pg.Pool({ ...postgresConnectOptions(plan.replica.url), max: 1 });
  try {
    const existing = await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (existing.rowCount !== 0) {
      throw new CdcError(
        'MIGRATION_STATE',
        `replication slot "${slot}" already exists on the target but no cutover is recorded: an earlier cutover stopped half-way; drop the slot (SELECT pg_drop_replication_slot('${slot}')) and run the cutover again`,
        { slot },
      );
    }
    await ensurePublication(pool, publication, tables, true);
    const created = await pool.query<{ lsn: string }>(
      `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
      [slot],
    );
    const lsn = created.rows[0]?.lsn;
    if (lsn === undefined) {
      throw new CdcError('INTERNAL', `creating slot "${slot}" returned no LSN`, { slot });
    }
    return { lsn, slot, publication };
  } catch (error) {
    throw asCdcError(error, 'TARGET_UNREACHABLE', `cannot create the takeover slot "${slot}" on the target`, {
      slot,
    });
  } finally {
    await pool.end();
  }
}
