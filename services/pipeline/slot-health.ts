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
 * With synchronous capture on, the same query also reads whether source commits wait for the capture
 * (synchronous-capture.ts), and its warnings join these.
 *
 * With `failover` candidates the capture may stream from a promoted standby: each sample is taken on the server
 * the capture streams from now (the connector says which), and also asks every server for its role and
 * failover settings, so the failover warnings (failover.ts) appear and clear while capture runs, not only at a
 * (re)start. One connection per server is kept for that, not one per sample.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';
import type { Logger } from '../../common/logger.ts';
import {
  currentFailoverWarnings,
  queryServerRole,
  serverLabel,
  type ServerRole,
} from '../../connectors/postgres/replication/failover.ts';
import {
  synchronousColumns,
  synchronousState,
  synchronousWarnings,
  type SynchronousRow,
  type SynchronousState,
} from './synchronous-capture.ts';

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
  /** The server the capture streams from now: `url`, or the failover candidate it found to be the primary. */
  readonly url: () => string;
  readonly slot: string;
  readonly warnRetainedWalBytes: number;
  /** The capture's replication application_name when synchronous capture is on, else null. */
  readonly synchronousStandby: string | null;
  /**
   * `sources[].failover`: every server (`url` first), and where the failover warnings found by each sample go
   * (the connector, which shows them in /status); null without candidates.
   */
  readonly failover: {
    readonly urls: readonly string[];
    readonly onWarnings: (warnings: readonly string[]) => void;
  } | null;
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
  readonly #url: () => string;
  readonly #slot: string;
  readonly #warnBytes: number;
  readonly #standby: string | null;
  readonly #failover: SlotHealthOptions['failover'];
  readonly #logger: Logger;
  /** One connection per server sampled, kept across samples. */
  readonly #pools = new Map<string, pg.Pool>();
  /** The server the last sample was taken on. */
  #sampledOn: string | null = null;
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
    this.#failover = options.failover;
    this.#logger = logger;
  }

  health(): SlotHealth {
    return this.#health;
  }

  /** Samples until `signal` aborts; a failed sample is logged at debug and tried again. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        try {
          const url = this.#url();
          if (this.#sampledOn !== null && url !== this.#sampledOn)
            this.#logger.info(
              { server: serverLabel(url) },
              'capture streams from another server now: its slot is sampled there',
            );
          this.#sampledOn = url;
          const { sample, synchronous } = await this.#sample(this.#pool(url));
          this.#update(sample, synchronous);
        } catch (error) {
          this.#logger.debug({ err: error }, 'slot health sample failed');
        }
        if (this.#failover !== null) await this.#checkFailover(this.#failover);
        await delay(SAMPLE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await Promise.all([...this.#pools.values()].map((pool) => pool.end().catch(() => undefined)));
      this.#pools.clear();
    }
  }

  #pool(url: string): pg.Pool {
    let pool = this.#pools.get(url);
    if (pool === undefined) {
      pool = new pg.Pool({
        ...postgresConnectOptions(url),
        max: 1,
        // Sampled every 2 s: the connection stays open between samples (and is opened again after a failure).
        idleTimeoutMillis: 0,
        connectionTimeoutMillis: 5_000,
        // A frozen server must not hold the samples of the others back.
        query_timeout: 10_000,
        application_name: 'cdc:slot-health',
      });
      pool.on('error', (error) => this.#logger.debug({ err: error }, 'slot health connection failed'));
      this.#pools.set(url, pool);
    }
    return pool;
  }

  /** The slot's retention and wal_status, and with synchronous capture its state, in one query. */
  async #sample(pool: pg.Pool): Promise<{ sample: Sample | null; synchronous: SynchronousState | null }> {
    const standby = this.#standby;
    // The slot's columns come from a LEFT JOIN so a missing slot still returns the synchronous columns.
    const { rows } = await pool.query<
      { found: boolean | null; retained: string | null; wal_status: string | null } & Partial<SynchronousRow>
    >(
      `SELECT slot.found, slot.retained, slot.wal_status${standby === null ? '' : `, ${synchronousColumns('$2')}`}
         FROM (SELECT 1) AS one
         LEFT JOIN (SELECT true AS found, (pg_current_wal_lsn() - restart_lsn)::text AS retained, wal_status
                      FROM pg_replication_slots WHERE slot_name = $1) AS slot ON true`,
      standby === null ? [this.#slot] : [this.#slot, standby],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('the slot health sample returned no row');
    const sample =
      row.found === true
        ? { retained: row.retained === null ? 0 : Number(row.retained), walStatus: row.wal_status }
        : null;
    const synchronous = standby === null ? null : synchronousState(row as SynchronousRow, standby);
    return { sample, synchronous };
  }

  /** Asks every server for its role and failover settings; the warnings for the server streamed from go on. */
  async #checkFailover(failover: NonNullable<SlotHealthOptions['failover']>): Promise<void> {
    const answers = await Promise.all(
      failover.urls.map((url) =>
        queryServerRole(this.#pool(url), url, this.#slot).catch((error: unknown) => {
          this.#logger.debug({ err: error, server: serverLabel(url) }, 'failover check failed');
          return null;
        }),
      ),
    );
    const servers = answers.filter((answer): answer is ServerRole => answer !== null);
    const warnings = currentFailoverWarnings(this.#url(), servers);
    if (warnings !== null) failover.onWarnings(warnings);
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
