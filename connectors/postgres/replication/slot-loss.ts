/**
 * A lost slot (gone although capture published from it, or invalidated: wal_status = lost): what to tell the
 * operator, and the WAL position a re-snapshot starts from. The changes between the last published position
 * and the new slot's start are not in any WAL capture can decode, so only re-copying every captured table
 * brings the replicas back (postgres-connector.ts runs it; ARCHITECTURE.md "Re-snapshot after a lost slot").
 */
import { setTimeout } from 'node:timers/promises';
import type pg from 'pg';
import { formatLsn, parseLsn, type Lsn } from '../../../schemas/positions/lsn.ts';
import type { EventPosition } from '../../../schemas/positions/position.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import { dropSlotIfExists, endStaleSlotHolder } from './slot.ts';

/** The message prefix of the WAL written to move the server's WAL past the last published position. */
export const WAL_ADVANCE_PREFIX = 'cdc.resnapshot';

/** How far behind the published position a server's WAL may be and still be moved past it by writing WAL. */
const MAX_ADVANCE_BYTES = 4n * 1024n ** 3n;
const ADVANCE_STEP_BYTES = 1024 * 1024;

/**
 * The error capture stops with when it may not re-snapshot by itself (`onSlotLost: stop`): the slot problem,
 * what is lost, and the two ways to the re-snapshot.
 */
export function slotLostStop(lost: CdcError, source: string, resume: EventPosition | null): CdcError {
  const since =
    resume === null
      ? 'the last published position'
      : `the last published position (${formatPosition(resume)})`;
  return new CdcError(
    'SLOT_INVALID',
    `${lost.message}. The changes between ${since} and now are lost from the stream, so the replicas miss them (rows deleted meanwhile included): a re-snapshot is needed. Take it with \`cdc resnapshot ${source} --api <url>\` (POST /connectors/${source}/resnapshot), which makes a new slot and re-copies every captured table, replacing the replicas' copies; or set sources[].onSlotLost: "resnapshot" to have capture do it by itself`,
    // Not marked slotLost itself: it is the final word, not a loss still to be handled.
    { slot: lost.fields.slot, source },
    { cause: lost },
  );
}

/**
 * A WAL position after `floor` (the last published or acknowledged position) and before anything a slot created
 * from now on decodes: the commit position a re-snapshot's start is published at. On a server whose WAL is behind
 * it (a promoted standby that had not replayed everything), WAL is written until it is past: every later change
 * must sort after what was published, or consumers would take it for a change they already have.
 */
export async function walPositionAfter(pool: pg.Pool, floor: Lsn | null): Promise<Lsn> {
  for (;;) {
    const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    // One before the insert position: a commit record written later may start exactly there.
    const position = (parseLsn(rows[0]?.lsn ?? '0/0') - 1n) as Lsn;
    if (floor === null || position > floor) return position;
    const gap = floor - position;
    if (gap > MAX_ADVANCE_BYTES) {
      throw new CdcError(
        'SLOT_INVALID',
        `cannot re-snapshot: the server's WAL (${formatLsn(position)}) is ${gap} bytes behind the last published position (${formatLsn(floor)}); is this the right server?`,
        { position: formatLsn(position), published: formatLsn(floor) },
      );
    }
    await pool.query('SELECT pg_logical_emit_message(false, $1, repeat($2, $3))', [
      WAL_ADVANCE_PREFIX,
      'x',
      Math.min(ADVANCE_STEP_BYTES, Number(gap) + 1),
    ]);
  }
}

/**
 * Drops slot `name` when it exists, so a new one can take its name. On a capture restarted for a re-snapshot the
 * slot was in use a moment ago: a walsender of this capture (`applicationName`) that has not exited yet is ended.
 */
export async function dropSlotForResnapshot(
  pool: pg.Pool,
  name: string,
  applicationName: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await dropSlotIfExists(pool, name);
      return;
    } catch (error) {
      const inUse =
        typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '55006';
      if (!inUse || attempt >= 50) throw error;
      await endStaleSlotHolder(pool, name, applicationName);
      await setTimeout(100);
    }
  }
}

/** An operator's request, the loss capture stopped on, and the re-snapshot running: for `/status`. */
export class ResnapshotState {
  /** Asked for (POST /connectors/:name/resnapshot): the next start does it. */
  requested = false;
  /** The lost slot capture stopped on (onSlotLost: stop), until the re-snapshot is asked for. */
  needed: string | null = null;
  /** Why the re-snapshot running now was started. */
  #reason: string | null = null;

  request(): void {
    this.requested = true;
    this.needed = null;
  }

  started(reason: string): void {
    this.requested = false;
    this.needed = null;
    this.#reason = reason;
  }

  /** `running`: the snapshot in progress is a re-snapshot (`replacing`), or one was asked for. */
  status(runner: { readonly replacing: boolean; readonly done: boolean } | null): {
    readonly state: 'needed' | 'running';
    readonly reason: string;
  } | null {
    if (this.needed !== null) return { state: 'needed', reason: this.needed };
    if (this.requested || (runner?.replacing === true && !runner.done))
      return { state: 'running', reason: this.#reason ?? 'a re-snapshot started before a restart' };
    return null;
  }
}
