/**
 * A fence in a PostgreSQL source's WAL, for read-your-writes on an idle source: a token is usually past the
 * last change the capture will ever see (an LSN taken after a commit is past its commit record, and a quiet
 * source or one busy only with tables outside the publication sends nothing after it), so the capture's read
 * position alone could wait for ever. A non-transactional logical message written now lands after the token
 * (written before the request came) and reaches the capture as one of its own heartbeats, a safe point that
 * covers the token. Requests share fences: one write at a time, and those arriving during a write share the
 * next one (the write in flight may have started before their token).
 */
import pg from 'pg';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';
import type { Logger } from '../../common/logger.ts';
import { HEARTBEAT_PREFIX } from '../../connectors/postgres/replication/change-stream.ts';

export class WalFence {
  readonly #pool: pg.Pool;
  readonly #slot: string;
  #inFlight: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(url: string, slot: string, logger: Logger) {
    // One connection, opened on the first wait and closed after a minute idle.
    this.#pool = new pg.Pool({
      ...postgresConnectOptions(url),
      max: 1,
      idleTimeoutMillis: 60_000,
      application_name: 'cdc:wait-fence',
    });
    this.#pool.on('error', (error) => logger.debug({ err: error }, 'idle fence connection failed'));
    this.#slot = slot;
  }

  /** Resolves once a fence written after this call began is in the WAL; rejects if it could not be written. */
  write(): Promise<void> {
    if (this.#inFlight === null) return this.#start();
    this.#next ??= this.#inFlight
      .catch(() => undefined)
      .then(() => {
        this.#next = null;
        return this.#start();
      });
    return this.#next;
  }

  #start(): Promise<void> {
    const written = this.#pool
      .query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, this.#slot])
      .then(() => undefined)
      .finally(() => {
        if (this.#inFlight === written) this.#inFlight = null;
      });
    this.#inFlight = written;
    return written;
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
