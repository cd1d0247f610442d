/**
 * One session with a PostgreSQL target. Every value read back stays the server's text (nothing is rounded
 * into a JavaScript number or Date); statement shapes that repeat are prepared once per session; the
 * replication origin the session is set up with is remembered, since it belongs to the session. The session
 * pipelines: statements handed over before the answer to the one before are sent at once.
 */
import type { Writable } from 'node:stream';
import pg from 'pg';
import type { Logger } from '../../../common/logger.ts';
import type { RunResult, Statement, TargetConnection } from '../sql-dialect.ts';
import { targetUnreachable } from '../target-errors.ts';
import { postgresConnectOptions, postgresSecurityError } from '../../../common/connect/postgres-url.ts';

const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;
const MAX_PREPARED = 2_000;

/** What pg's Query reads from the instance (its types do not list them). */
interface QueryFields {
  name?: string;
  callback: (error: Error | null, result: pg.QueryResult<Record<string, unknown>>) => void;
}

export class PostgresConnection implements TargetConnection {
  readonly client: pg.Client;
  /** The replication origin set up on this session, if any. */
  origin: string | null = null;
  private failed = false;
  private readonly prepared = new Map<string, string>();

  private constructor(client: pg.Client) {
    this.client = client;
  }

  static async open(url: string, logger: Logger): Promise<PostgresConnection> {
    const client = new pg.Client({
      ...postgresConnectOptions(url),
      types: TEXT_TYPES,
      application_name: 'cdc-apply',
      // Statements handed over together (RowWriter.writeEach) go out without waiting for each answer. Each
      // still has its own Sync, so a failing one fails alone, and in a transaction aborts the rest as before.
      pipeline: true,
    });
    const connection = new PostgresConnection(client);
    client.on('error', (error) => {
      connection.failed = true;
      logger.warn({ err: error }, 'target connection failed');
    });
    client.on('end', () => {
      connection.failed = true;
    });
    try {
      await client.connect();
    } catch (error) {
      throw targetUnreachable(
        error,
        postgresSecurityError(error, url, 'cannot connect to the target database'),
      );
    }
    return connection;
  }

  get broken(): boolean {
    return this.failed;
  }

  run(statement: Statement, reuse?: string): Promise<RunResult> {
    // A Query built from the text, not from a config object, which pg copies property by property for every
    // statement (a tenth of apply's CPU on single-row changes); named when its shape is prepared.
    const query = new pg.Query(statement.text, statement.values) as unknown as QueryFields;
    const name = this.nameOf(reuse);
    if (name !== undefined) query.name = name;
    return new Promise((resolve, reject) => {
      query.callback = (error, result) =>
        error ? reject(error) : resolve({ rows: result.rows, count: result.rowCount ?? 0 });
      this.client.query(query as unknown as pg.Submittable);
    });
  }

  together<T>(submit: () => T): T {
    // pg corks its socket around each statement it sends; a cork around all of them makes one write of them.
    const stream = (this.client as unknown as { connection?: { stream?: Writable } }).connection?.stream;
    stream?.cork();
    try {
      return submit();
    } finally {
      stream?.uncork();
    }
  }

  async close(): Promise<void> {
    this.failed = true;
    await this.client.end();
  }

  /** The prepared statement's name for a repeating shape; none past MAX_PREPARED shapes, or for one-offs. */
  private nameOf(reuse: string | undefined): string | undefined {
    if (reuse === undefined) return undefined;
    let name = this.prepared.get(reuse);
    if (name === undefined && this.prepared.size < MAX_PREPARED) {
      name = `cdc_apply_${this.prepared.size}`;
      this.prepared.set(reuse, name);
    }
    return name;
  }
}
