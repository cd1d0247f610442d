/**
 * Creates or validates the logical replication slot. A slot that exists with another plugin, on another
 * database, as a physical slot, or that was invalidated (its WAL removed) cannot resume: say so precisely.
 */
import type pg from 'pg';
import { parseLsn, type Lsn } from '../../../schemas/positions/lsn.ts';
import { CdcError, asCdcError } from '../../../common/errors.ts';

export interface SlotRow {
  readonly slotType: string;
  readonly plugin: string | null;
  readonly database: string | null;
  readonly walStatus: string | null;
  readonly confirmedFlushLsn: string | null;
  /** PostgreSQL 17: a failover slot (false on older servers). */
  readonly failover: boolean;
}

export interface SlotInfo {
  readonly name: string;
  readonly confirmed: Lsn | null;
  readonly created: boolean;
  readonly failover: boolean;
}

/** Returns why the slot cannot be used by this connector, or null. */
export function checkSlot(name: string, database: string, slot: SlotRow): CdcError | null {
  const fields = { slot: name };
  if (slot.slotType !== 'logical') {
    return new CdcError(
      'SLOT_INVALID',
      `replication slot "${name}" is a ${slot.slotType} slot, not a logical one: choose another slot name`,
      fields,
    );
  }
  if (slot.plugin !== 'pgoutput') {
    return new CdcError(
      'SLOT_INVALID',
      `replication slot "${name}" uses output plugin ${slot.plugin ?? 'unknown'}, not pgoutput: drop it (SELECT pg_drop_replication_slot('${name}')) or choose another slot name`,
      fields,
    );
  }
  if (slot.database !== database) {
    return new CdcError(
      'SLOT_INVALID',
      `replication slot "${name}" belongs to database "${slot.database ?? '?'}", not "${database}": a logical slot decodes one database; choose another slot name`,
      fields,
    );
  }
  if (slot.walStatus === 'lost') {
    return new CdcError(
      'SLOT_INVALID',
      `replication slot "${name}" was invalidated (wal_status = lost): the WAL it needed was removed (max_slot_wal_keep_size)`,
      { ...fields, slotLost: true },
    );
  }
  return null;
}

export async function readSlot(pool: pg.Pool, name: string): Promise<SlotRow | null> {
  const result = await pool.query<{
    slot_type: string;
    plugin: string | null;
    database: string | null;
    wal_status: string | null;
    confirmed_flush_lsn: string | null;
    failover: boolean;
  }>(
    // to_jsonb: the failover column exists from PostgreSQL 17 on.
    `SELECT slot_type, plugin, database, wal_status, confirmed_flush_lsn::text,
            coalesce((to_jsonb(s) ->> 'failover')::boolean, false) AS failover
       FROM pg_replication_slots s WHERE slot_name = $1`,
    [name],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    slotType: row.slot_type,
    plugin: row.plugin,
    database: row.database,
    walStatus: row.wal_status,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    failover: row.failover,
  };
}

export interface EnsureSlotOptions {
  /** Create it as a failover slot (PostgreSQL 17: standbys with sync_replication_slots keep a copy). */
  readonly failover: boolean;
  /**
   * Whether a missing slot may be created: only while nothing was published yet. A slot missing after that
   * (dropped, or a promoted standby without a copy) would start at the current WAL: the changes in between are
   * lost, so that is an error asking for a re-snapshot rather than a silent new slot.
   */
  readonly create: boolean;
}

/**
 * The error of a slot that is gone although capture had published from it. The connector completes the
 * message with what was lost and how to re-snapshot (postgres-connector.ts).
 */
export function slotLostError(name: string, where: string): CdcError {
  return new CdcError(
    'SLOT_INVALID',
    `replication slot "${name}" does not exist on ${where} although capture already published from it (dropped, or the server is a promoted standby without a copy of it)`,
    { slot: name, slotLost: true },
  );
}

/** Whether `error` says the slot is gone or invalidated, so that only a re-snapshot can bring replicas back. */
export function isSlotLost(error: unknown): error is CdcError {
  return error instanceof CdcError && error.code === 'SLOT_INVALID' && error.fields.slotLost === true;
}

/** Drops slot `name` when it exists (an invalidated slot must go before a new one of its name is created). */
export async function dropSlotIfExists(pool: pg.Pool, name: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
    [name],
  );
  return (rowCount ?? 0) > 0;
}

export async function ensureSlot(
  pool: pg.Pool,
  name: string,
  options: EnsureSlotOptions = { failover: false, create: true },
): Promise<SlotInfo> {
  const database = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
  let slot = await readSlot(pool, name);
  let created = false;
  if (!slot) {
    if (!options.create) throw slotLostError(name, `database "${database}"`);
    try {
      await pool.query(
        options.failover
          ? `SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)`
          : `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`,
        [name],
      );
      created = true;
    } catch (error) {
      const code =
        typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
      // Another instance may have created it in the meantime; anything else is a real failure.
      if (code !== '42710') throw slotCreationError(error, name);
    }
    slot = await readSlot(pool, name);
    if (!slot)
      throw new CdcError('INTERNAL', `replication slot "${name}" vanished right after its creation`, {
        slot: name,
      });
  }
  const problem = checkSlot(name, database, slot);
  if (problem) throw problem;
  return {
    name,
    confirmed: slot.confirmedFlushLsn ? parseLsn(slot.confirmedFlushLsn) : null,
    created,
    failover: slot.failover,
  };
}

function slotCreationError(error: unknown, name: string): CdcError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === '42501') {
    return new CdcError(
      'SOURCE_PRIVILEGE',
      `cannot create replication slot "${name}": the role needs the REPLICATION attribute`,
      { slot: name },
      { cause: error },
    );
  }
  if (code === '53400') {
    return new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `cannot create replication slot "${name}": all replication slots are in use; raise max_replication_slots`,
      { slot: name },
      { cause: error },
    );
  }
  return asCdcError(error, 'SOURCE_NOT_CONFIGURED', `cannot create replication slot "${name}"`, {
    slot: name,
  });
}

/**
 * Ends the replication connection holding slot `name` when it is one of this capture's own (`applicationName`)
 * from another process: with `sources[].ha`, a process that lost the lease while frozen or cut off keeps the
 * slot until wal_sender_timeout notices it (a minute by default). The caller holds the lease and has fenced that
 * process's producer, so its connection can publish nothing more. Returns the PID ended, or null.
 */
export async function endStaleSlotHolder(
  pool: pg.Pool,
  name: string,
  applicationName: string,
): Promise<number | null> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT s.active_pid AS pid FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1 AND a.application_name = $2 AND a.pid <> pg_backend_pid()`,
    [name, applicationName],
  );
  const pid = rows[0]?.pid;
  if (pid === undefined) return null;
  await pool.query('SELECT pg_terminate_backend($1)', [pid]);
  return pid;
}
