/**
 * Test harness for the binlog connector against the local MariaDB: a throwaway database per test file and a
 * running connector whose batches are collected for assertions.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { MysqlConnector } from '../../../connectors/mysql/mysql-connector.ts';
import type { MysqlConnectorConfigInput } from '../../../connectors/mysql/config.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { EventPosition } from '../../../schemas/positions/position.ts';

export async function adminConnection(database?: string): Promise<Connection> {
  const url = new URL(stack.mariadbUrl);
  return mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    multipleStatements: true,
    charset: 'utf8mb4',
    ...(database !== undefined ? { database } : {}),
  });
}

/** A fresh database; drop it with the returned function. */
export async function createDatabase(
  prefix: string,
): Promise<{ name: string; sql: Connection; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const admin = await adminConnection();
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  const sql = await adminConnection(name);
  return {
    name,
    sql,
    drop: async () => {
      await sql.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await sql.end();
    },
  };
}

let nextServerId = 50_000 + Math.floor(Math.random() * 1_000_000);

export function connectorConfig(
  database: string,
  overrides: Partial<MysqlConnectorConfigInput> = {},
): MysqlConnectorConfigInput {
  return {
    name: uniqueName('mysqlcap'),
    url: stack.mariadbUrl,
    flavor: 'mariadb',
    serverId: nextServerId++,
    tables: [`${database}.*`],
    snapshot: 'never',
    snapshotChunkRows: 100,
    heartbeatIntervalMs: 60_000,
    maxTransactionEvents: 1000,
    ...overrides,
  };
}

/** A connector running in the background, collecting (and acknowledging) every batch it yields. */
export class RunningConnector {
  readonly connector: MysqlConnector;
  readonly batches: CaptureBatch[] = [];
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  #gate: Promise<void> | null = null;
  #openGate: (() => void) | null = null;
  error: unknown = null;

  constructor(config: MysqlConnectorConfigInput, resume: ResumePoint = { position: null, state: null }) {
    const connector = new MysqlConnector(config);
    this.connector = connector;
    this.#done = (async () => {
      try {
        for await (const batch of connector.stream(resume, this.#abort.signal)) {
          this.batches.push(batch);
          // Acknowledged as a publisher does once the batch is stored: a first start reports `streaming` only then.
          if (batch.commit !== null) await connector.acknowledge(batch.commit);
          if (this.#gate) await this.#gate;
        }
      } catch (error) {
        this.error = error;
      }
    })();
  }

  /**
   * Stops taking batches, as a slow publisher would: the connector reads on only as far as its own buffers let
   * it, so a test can change the source at a known point of a snapshot. `release()` takes batches again.
   */
  hold(): void {
    this.#gate ??= new Promise((resolve) => (this.#openGate = resolve));
  }

  release(): void {
    this.#openGate?.();
    this.#gate = null;
    this.#openGate = null;
  }

  get events(): ChangeEvent[] {
    return this.batches.flatMap((batch) => batch.events);
  }

  /** Where a consumer that published everything so far would resume. */
  resumePoint(): ResumePoint {
    let position: EventPosition | null = null;
    let state: ResumePoint['state'] = null;
    for (const batch of this.batches) {
      const last = batch.events[batch.events.length - 1];
      if (last) position = last.source.position;
      else if (batch.commit) position = { commit: batch.commit, index: 0 };
      if (batch.state) state = batch.state;
    }
    return { position, state };
  }

  async waitForEvents(
    description: string,
    predicate: (events: ChangeEvent[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<ChangeEvent[]> {
    return waitFor(
      description,
      () => {
        if (this.error)
          throw this.error instanceof Error ? this.error : new Error(JSON.stringify(this.error));
        const events = this.events;
        return predicate(events) ? events : null;
      },
      { timeoutMs },
    );
  }

  async waitForState(state: string): Promise<void> {
    await waitFor(`connector state ${state}`, () => {
      if (this.error) throw this.error instanceof Error ? this.error : new Error(JSON.stringify(this.error));
      return this.connector.status().state === state;
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.release();
    await this.#done;
  }
}

export interface Writer {
  /** Stops writing; resolves with the number of writes made. */
  stop(): Promise<number>;
}

/**
 * Random single-row writes to table `s (id, v)` from another connection until stopped: upserts, updates and
 * deletes of ids 1..1.2 × `rows` (turned into the table's key by `key`).
 */
export function startWriter(
  database: string,
  rows: number,
  key: (id: number) => string | number = (id) => id,
): Writer {
  let running = true;
  let writes = 0;
  const done = (async () => {
    const sql = await adminConnection(database);
    try {
      while (running) {
        const id = key(1 + Math.floor(Math.random() * rows * 1.2));
        const choice = Math.random();
        if (choice < 0.4)
          await sql.query('INSERT INTO s VALUES (?, ?) ON DUPLICATE KEY UPDATE v = v + 1', [id, writes]);
        else if (choice < 0.8) await sql.query('UPDATE s SET v = ? WHERE id = ?', [writes, id]);
        else await sql.query('DELETE FROM s WHERE id = ?', [id]);
        writes++;
      }
    } finally {
      await sql.end();
    }
    return writes;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}
