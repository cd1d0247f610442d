/**
 * The health of a PostgreSQL source's replication slot, sampled in the background on a connection of its own
 * (as the Kafka backlog is, services/kafka/backlog.ts), never on the capture path, and also while the capture is
 * paused or reconnecting, which is when a slot retains the most. Two conditions are warned of, logged once
 * per change of state, shown among the connector's `warnings` in /status and exported as gauges:
 *
 * - the WAL the slot retains (`pg_current_wal_lsn() - restart_lsn`) above `warnRetainedWalBytes`: the
 *   source's disk fills while capture is behind or stopped;
 * - `wal_status` other than `reserved`: `extended` (past max_wal_size, kept only for the slot), `unreserved`
 *   (the next checkpoint may remove WAL the slot needs), `lost` (removed: the slot cannot continue, and the
 *   replicas need a new snapshot).
 *
 * With synchronous capture on, the same sample also reads whether source commits wait for the capture
 * (synchronous-capture.ts), and its warnings join these.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';
import type { Logger } from '../../common/logger.ts';
import { sampleSynchronous, synchronousWarnings, type SynchronousState } from './synchronous-capture.ts';

const SAMPLE_INTERVAL_MS = 2_000;

export interface SlotHealth {
  /** Bytes of WAL the slot keeps on the source; null before the first sample or when the slot is missing. */
  readonly retainedWalBytes: number | null;
  /** `reserved`, `extended`, `unreserved`, `lost`; null before the first sample or when the slot is missing. */
  readonly walStatus: string | null;
  /** Synchronous capture's state; null when it is off or before the first sample. */
  readonly synchronous: SynchronousState | null;
  /** The slot's warnings. */
  readonly warnings: readonly string[];
  /** Synchronous capture's warnings (synchronous-capture.ts). */
  readonly synchronousWarnings: readonly string[];
}

export interface SlotHealthOptions {
  readonly url: string;
  readonly slot: string;
  readonly warnRetainedWalBytes: number;
  /** The capture's replication application_name when synchronous capture is on, else null. */
  readonly synchronousStandby: string | null;
}

interface Sample {
  readonly retained: number;
  readonly walStatus: string | null;
}

const WAL_STATUS_WARNINGS: Readonly<Record<string, string>> = {
  extended:
    'its WAL is past max_wal_size and kept only for the slot (wal_status extended): let capture catch up, or raise max_slot_wal_keep_size',
  unreserved:
    'the next checkpoint may remove WAL it still needs (wal_status unreserved): capture must catch up now, or the slot is lost',
  lost: 'the WAL it needed was removed (wal_status lost): the slot cannot continue; drop it and take a new snapshot of every replica',
};

export class SlotHealthSampler {
  readonly #url: string;
  readonly #slot: string;
  readonly #warnBytes: number;
  readonly #standby: string | null;
  readonly #logger: Logger;
  #health: SlotHealth = {
    retainedWalBytes: null,
    walStatus: null,
    synchronous: null,
    warnings: [],
    synchronousWarnings: [],
  };

  constructor(options: SlotHealthOptions, logger: Logger) {
    this.#url = options.url;
    this.#slot = options.slot;
    this.#warnBytes = options.warnRetainedWalBytes;
    this.#standby = options.synchronousStandby;
    this.#logger = logger;
  }

  health(): SlotHealth {
    return this.#health;
  }

  /** Samples until `signal` aborts; a failed sample is logged at debug and tried again. */
  async run(signal: AbortSignal): Promise<void> {
    const pool = new pg.Pool({
      ...postgresConnectOptions(this.#url),
      max: 1,
      application_name: 'cdc:slot-health',
    });
    pool.on('error', (error) => this.#logger.debug({ err: error }, 'slot health connection failed'));
    try {
      while (!signal.aborted) {
        try {
          const sample = await this.#sample(pool);
          const synchronous = this.#standby === null ? null : await sampleSynchronous(pool, this.#standby);
          this.#update(sample, synchronous);
        } catch (error) {
          this.#logger.debug({ err: error }, 'slot health sample failed');
        }
        await delay(SAMPLE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await pool.end();
    }
  }

  async #sample(pool: pg.Pool): Promise<Sample | null> {
    const { rows } = await pool.query<{ retained: string | null; wal_status: string | null }>(
      `SELECT (pg_current_wal_lsn() - restart_lsn)::text AS retained, wal_status
         FROM pg_replication_slots WHERE slot_name = $1`,
      [this.#slot],
    );
    const row = rows[0];
    if (row === undefined) return null;
    return { retained: row.retained === null ? 0 : Number(row.retained), walStatus: row.wal_status };
  }

  #update(sample: Sample | null, synchronous: SynchronousState | null): void {
    const warnings: string[] = [];
    if (sample !== null && sample.retained > this.#warnBytes)
      warnings.push(
        `slot ${this.#slot} retains ${sample.retained} bytes of WAL, above warnRetainedWalBytes (${this.#warnBytes}): the source's disk fills while capture is behind or paused`,
      );
    const statusWarning = sample?.walStatus == null ? undefined : WAL_STATUS_WARNINGS[sample.walStatus];
    if (statusWarning !== undefined) warnings.push(`slot ${this.#slot}: ${statusWarning}`);
    // Logged once per change of state, not per sample.
    const wasRetaining = this.#health.warnings.some((w) => w.includes('retains'));
    const retaining = warnings.some((w) => w.includes('retains'));
    if (retaining !== wasRetaining) {
      if (retaining) this.#logger.warn({ slot: this.#slot, retainedWalBytes: sample?.retained }, warnings[0]);
      else this.#logger.info({ slot: this.#slot }, 'slot WAL retention back under warnRetainedWalBytes');
    }
    const before = this.#health.walStatus;
    const wasWarned = before !== null && WAL_STATUS_WARNINGS[before] !== undefined;
    if ((sample?.walStatus ?? null) !== before && (statusWarning !== undefined || wasWarned)) {
      const log = statusWarning === undefined ? 'info' : sample?.walStatus === 'lost' ? 'error' : 'warn';
      this.#logger[log](
        { slot: this.#slot, walStatus: sample?.walStatus ?? null },
        `slot wal_status is now ${sample?.walStatus ?? 'unknown (slot missing)'}`,
      );
    }
    const syncWarnings = synchronous === null ? [] : synchronousWarnings(synchronous);
    this.#logSynchronous(syncWarnings);
    this.#health = {
      retainedWalBytes: sample?.retained ?? null,
      walStatus: sample?.walStatus ?? null,
      synchronous,
      warnings,
      synchronousWarnings: syncWarnings,
    };
  }

  /** Each synchronous-capture warning is logged when it appears, and its clearing once. */
  #logSynchronous(now: readonly string[]): void {
    const before = this.#health.synchronousWarnings;
    // The count of waiting commits leads one warning; a changed count is not a new warning.
    const kind = (warning: string) => warning.replace(/^\d+ /, '');
    const beforeKinds = new Set(before.map(kind));
    for (const warning of now)
      if (!beforeKinds.has(kind(warning))) this.#logger.warn({ slot: this.#slot }, warning);
    if (before.length > 0 && now.length === 0)
      this.#logger.info({ slot: this.#slot }, 'source commits wait for synchronous capture');
  }
}
