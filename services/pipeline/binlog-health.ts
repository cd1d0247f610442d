/**
 * Whether the binlog file a MariaDB/MySQL capture reads is about to go, sampled in the background on a
 * connection of its own (never on the capture path), also while the capture is paused: compared with
 * `SHOW BINARY LOGS` and the server's expiry setting. The file the capture read last is the one it needs to
 * go on (with everything after it). Warned of, once per change of state in the log, among the connector's
 * `warnings` in /status and by the `cdc_capture_binlog_warning` gauge:
 *
 * - the file is the oldest one still on the server: the next purge (`PURGE BINARY LOGS`, or expiry after
 *   `binlog_expire_logs_seconds`) removes it, and capture could then not resume;
 * - the file is gone: capture cannot resume from its position; the replicas need a new snapshot.
 */
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';
import type { Logger } from '../../common/logger.ts';

const SAMPLE_INTERVAL_MS = 2_000;

export interface BinlogHealth {
  /** The binlog file the capture read last; null until it read one. */
  readonly file: string | null;
  readonly warnings: readonly string[];
}

export class BinlogHealthSampler {
  /** The server capture reads now (it follows a primary switch among candidates). */
  readonly #url: () => string;
  readonly #neededFile: () => string | null;
  readonly #logger: Logger;
  #health: BinlogHealth = { file: null, warnings: [] };

  constructor(url: () => string, neededFile: () => string | null, logger: Logger) {
    this.#url = url;
    this.#neededFile = neededFile;
    this.#logger = logger;
  }

  health(): BinlogHealth {
    return this.#health;
  }

  async run(signal: AbortSignal): Promise<void> {
    let connection: mysql.Connection | null = null;
    let connectedTo: string | null = null;
    let staleFile: string | null = null;
    try {
      while (!signal.aborted) {
        try {
          const url = this.#url();
          if (connectedTo !== null && url !== connectedTo) {
            // Capture moved to another server: the file it read last is the old server's until it reads a commit
            // on the new one, and means nothing there.
            staleFile = this.#neededFile();
            await connection?.end().catch(() => undefined);
            connection = null;
          }
          connectedTo = url;
          connection ??= await mysql.createConnection({
            ...mysqlConnectOptions(url),
            connectTimeout: 10_000,
          });
          const needed = this.#neededFile();
          if (needed !== staleFile) staleFile = null;
          this.#update(await sample(connection, staleFile === null ? needed : null));
        } catch (error) {
          this.#logger.debug({ err: error }, 'binlog health sample failed');
          await connection?.end().catch(() => undefined);
          connection = null;
        }
        await delay(SAMPLE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await connection?.end().catch(() => undefined);
    }
  }

  #update(health: BinlogHealth): void {
    const before = this.#health.warnings.join('\n');
    const now = health.warnings.join('\n');
    if (before !== now) {
      if (health.warnings.length > 0) this.#logger.warn({ file: health.file }, health.warnings.join('; '));
      else this.#logger.info({ file: health.file }, 'the binlog the capture needs is no longer at risk');
    }
    this.#health = health;
  }
}

async function sample(connection: mysql.Connection, file: string | null): Promise<BinlogHealth> {
  if (file === null) return { file, warnings: [] };
  const [logs] = await connection.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
  const names = logs.map((row) => String(row.Log_name));
  const [settings] = await connection.query<mysql.RowDataPacket[]>(
    'SELECT @@binlog_expire_logs_seconds AS expire',
  );
  const expire = Number(settings[0]?.expire ?? 0);
  const expiry = expire > 0 ? `expiry after binlog_expire_logs_seconds (${expire} s)` : 'a purge';
  if (!names.includes(file))
    return {
      file,
      warnings: [
        `binlog ${file}, which the capture needs, is no longer on the server (purged): capture cannot resume from its position; take a new snapshot of every replica`,
      ],
    };
  if (names[0] === file && names.length > 0)
    return {
      file,
      warnings: [
        `binlog ${file}, which the capture needs, is the oldest one still on the server: ${expiry} or PURGE BINARY LOGS removes it next; let capture catch up, and do not purge past it`,
      ],
    };
  return { file, warnings: [] };
}
