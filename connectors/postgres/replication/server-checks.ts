/**
 * Start-up validation of the source server and the connecting role. The decisions are pure functions over
 * rows read from the server, so each message can be tested without reconfiguring a shared server.
 */
import type pg from 'pg';
import { CdcError } from '../../../common/errors.ts';

export interface ServerSettings {
  readonly walLevel: string;
  readonly maxReplicationSlots: number;
  readonly maxWalSenders: number;
  readonly slotsInUse: number;
  readonly slotExists: boolean;
  readonly role: string;
  readonly isSuperuser: boolean;
  readonly canReplicate: boolean;
}

/** Returns the first problem that prevents logical replication, or null when the server is ready. */
export function checkServerSettings(settings: ServerSettings): CdcError | null {
  if (settings.walLevel !== 'logical') {
    return new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `wal_level is '${settings.walLevel}' but logical replication needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL`,
      { setting: 'wal_level', value: settings.walLevel },
    );
  }
  if (
    settings.maxReplicationSlots < 1 ||
    (!settings.slotExists && settings.slotsInUse >= settings.maxReplicationSlots)
  ) {
    return new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `max_replication_slots is ${settings.maxReplicationSlots} with ${settings.slotsInUse} in use: no slot is free for this connector; raise max_replication_slots (restart needed) or drop an unused slot`,
      { setting: 'max_replication_slots', value: settings.maxReplicationSlots },
    );
  }
  if (settings.maxWalSenders < 1) {
    return new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `max_wal_senders is ${settings.maxWalSenders}: logical replication needs at least one WAL sender; raise max_wal_senders (restart needed)`,
      { setting: 'max_wal_senders', value: settings.maxWalSenders },
    );
  }
  if (!settings.isSuperuser && !settings.canReplicate) {
    return new CdcError(
      'SOURCE_PRIVILEGE',
      `role "${settings.role}" lacks the REPLICATION attribute needed to stream changes: run ALTER ROLE "${settings.role}" WITH REPLICATION`,
      { privilege: 'REPLICATION', role: settings.role },
    );
  }
  return null;
}

export async function readServerSettings(pool: pg.Pool, slot: string): Promise<ServerSettings> {
  const result = await pool.query<{
    wal_level: string;
    max_replication_slots: string;
    max_wal_senders: string;
    slots_in_use: number;
    slot_exists: boolean;
    role: string;
    rolsuper: boolean;
    rolreplication: boolean;
  }>(
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots') AS max_replication_slots,
            current_setting('max_wal_senders') AS max_wal_senders,
            (SELECT count(*)::int4 FROM pg_replication_slots) AS slots_in_use,
            EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) AS slot_exists,
            r.rolname AS role, r.rolsuper, r.rolreplication
       FROM pg_roles r WHERE r.rolname = current_user`,
    [slot],
  );
  const row = result.rows[0];
  if (!row) throw new CdcError('INTERNAL', 'current_user is missing from pg_roles', {});
  return {
    walLevel: row.wal_level,
    maxReplicationSlots: Number(row.max_replication_slots),
    maxWalSenders: Number(row.max_wal_senders),
    slotsInUse: row.slots_in_use,
    slotExists: row.slot_exists,
    role: row.role,
    isSuperuser: row.rolsuper,
    canReplicate: row.rolreplication,
  };
}

export async function assertServerReady(pool: pg.Pool, slot: string): Promise<void> {
  const problem = checkServerSettings(await readServerSettings(pool, slot));
  if (problem) throw problem;
}
