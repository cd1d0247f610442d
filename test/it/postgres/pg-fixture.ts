/**
 * A disposable source database per test file, and a capture helper that consumes a connector's stream in
 * the background so tests can wait on what arrived.
 */
import pg from 'pg';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import type { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { type PostgresConnectorConfig } from '../../../connectors/postgres/postgres-connector.ts';
import { stack, uniqueName, withDatabase } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

export interface SourceDb {
  readonly name: string;
  readonly url: string;
  readonly client: pg.Client;
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

export async function createSourceDb(prefix: string): Promise<SourceDb> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: stack.pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = withDatabase(stack.pgAdminUrl, name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    client,
    sql: (text, values) => client.query(text, values),
    async drop() {
      await client.end();
      const cleanup = new pg.Client({ connectionString: stack.pgAdminUrl });
      await cleanup.connect();
      try {
        // An abandoned slot retains WAL forever: drop every slot of this database first.
        await waitFor('slots of the test database to be inactive', async () => {
          const active = await cleanup.query(
            'SELECT 1 FROM pg_replication_slots WHERE database = $1 AND active',
            [name],
          );
          return active.rowCount === 0;
        });
        await cleanup.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1',
          [name],
        );
        await cleanup.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

export function connectorConfig(
  db: SourceDb,
  overrides: Partial<PostgresConnectorConfig> = {},
): PostgresConnectorConfig {
  return {
    name: uniqueName('pgc'),
    url: db.url,
    publication: uniqueName('pub'),
    slot: uniqueName('slot'),
    tables: ['public.*'],
    createPublication: true,
    snapshot: 'never',
    snapshotChunkRows: 100,
    heartbeatIntervalMs: 500,
    maxTransactionEvents: 1000,
    ...overrides,
  };
}

/** Consumes `stream()` in the background; batches accumulate in `batches`. */
export class Capture {
  readonly connector: PostgresConnector;
  readonly batches: CaptureBatch[] = [];
  readonly #abort = new AbortController();
  #done: Promise<void>;
  failure: unknown = null;

  constructor(
    connector: PostgresConnector,
    resume: ResumePoint = { position: null, state: null },
    options: { autoAck?: boolean } = {},
  ) {
    this.connector = connector;
    this.#done = (async () => {
      try {
        for await (const batch of connector.stream(resume, this.#abort.signal)) {
          this.batches.push(batch);
          if (options.autoAck && batch.commit) await connector.acknowledge(batch.commit);
        }
      } catch (error) {
        this.failure = error;
      }
    })();
  }

  get events(): ChangeEvent[] {
    return this.batches.flatMap((batch) => batch.events);
  }

  /** Events of real changes and snapshot reads, for tables matching `table` when given. */
  eventsOf(table?: string): ChangeEvent[] {
    return this.events.filter((event) => table === undefined || event.table.table === table);
  }

  async waitForEvents(count: number, table?: string, timeoutMs = 30_000): Promise<ChangeEvent[]> {
    await waitFor(
      `${count} events${table ? ` of ${table}` : ''} (have ${this.eventsOf(table).length}; failure: ${String(this.failure)})`,
      () => {
        if (this.failure)
          throw this.failure instanceof Error
            ? this.failure
            : new Error('capture failed', { cause: this.failure });
        return this.eventsOf(table).length >= count;
      },
      { timeoutMs },
    );
    return this.eventsOf(table);
  }

  async waitStreaming(): Promise<void> {
    await waitFor('connector to stream', () => {
      if (this.failure)
        throw this.failure instanceof Error
          ? this.failure
          : new Error('capture failed', { cause: this.failure });
      const state = this.connector.status().state;
      return state === 'streaming' || state === 'snapshotting';
    });
    // The walsender must be attached before writes are issued, or they might predate... nothing: the slot
    // already exists, so writes made now are still captured. Waiting only makes timing assertions simpler.
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

export function bigintSafe(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint'
      ? `${item}n`
      : item instanceof Uint8Array
        ? Buffer.from(item).toString('hex')
        : item,
  );
}
