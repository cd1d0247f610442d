/**
 * What the registry tests share: the stack's registry (Apicurio's Confluent API), a pipeline from a PostgreSQL or
 * MariaDB `items` table into a PostgreSQL replica publishing through a registry URL, and the comparison of the
 * two tables: whole rows between two PostgreSQL databases, named columns as text across dialects.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createTestPipeline, type TestPipeline } from '../../support/binlog-pipeline.ts';
import { createMariadbDatabase } from '../../support/mariadb.ts';
import type { KafkaMessage } from 'kafkajs';
import { readRaw } from '../../support/raw-topic.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';

export const REGISTRY = process.env.CDC_REGISTRY_URL ?? 'http://127.0.0.1:58081/apis/ccompat/v7';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** One call of the registry's REST API, as any client would make it. */
export async function registry(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${REGISTRY}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** Sets the registry's global compatibility, as the tests expect it (BACKWARD, the Confluent default). */
export async function useBackwardCompatibility(): Promise<void> {
  const set = await registry('PUT', '/config', { compatibility: 'BACKWARD' });
  assert.equal(set.status, 200, `PUT /config: ${JSON.stringify(set.body)}`);
}

/**
 * The source database, whichever its dialect: statements, and the `items` rows ordered by id, each the given
 * columns' text joined by `|` (NULL as `null`), or without columns the whole row (PostgreSQL's row text).
 */
export interface RegistrySource {
  readonly kind: 'postgres' | 'mariadb';
  readonly name: string;
  readonly url: string;
  query(sql: string): Promise<unknown>;
  rows(columns?: readonly string[]): Promise<string[]>;
}

export interface Setup {
  readonly source: RegistrySource;
  readonly replica: TestDatabase;
  readonly pipeline: TestPipeline;
  readonly running: RunningPipeline;
}

export interface StartOptions {
  readonly sourceKind?: 'postgres' | 'mariadb';
  readonly onIncompatible?: 'stop' | 'new-version';
  readonly url?: string;
  readonly retryTimeoutMs?: number;
}

async function createSource(prefix: string, kind: 'postgres' | 'mariadb'): Promise<RegistrySource> {
  if (kind === 'mariadb') {
    const db = await createMariadbDatabase(`${prefix}_src`);
    cleanups.push(() => db.drop());
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int, code text)`);
    await db.query(
      `INSERT INTO items SELECT seq, CONCAT('item ', seq), seq, CONCAT('c', seq) FROM seq_1_to_50`,
    );
    return {
      kind,
      name: db.name,
      url: db.url,
      query: (sql) => db.query(sql),
      rows: async (columns = ['id', 'name']) => {
        const list = columns.map((column) => `IFNULL(CAST(${column} AS CHAR), 'null')`).join(", '|', ");
        const result = await db.query(`SELECT CONCAT(${list}) AS r FROM items ORDER BY id`);
        return result.map((row) => String(row.r));
      },
    };
  }
  const db = await createDatabase(`${prefix}_src`);
  cleanups.push(() => db.drop());
  await db.query(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int, code text)`);
  await db.query(`INSERT INTO items SELECT g, 'item ' || g, g, 'c' || g FROM generate_series(1, 50) g`);
  return {
    kind,
    name: db.name,
    url: db.url,
    query: (sql) => db.query(sql),
    rows: (columns) => pgRows(db, columns),
  };
}

async function pgRows(db: TestDatabase, columns?: readonly string[], table = 'items'): Promise<string[]> {
  const row =
    columns === undefined
      ? 't::text'
      : columns.map((column) => `coalesce(${column}::text, 'null')`).join(" || '|' || ");
  try {
    const result = await db.query(`SELECT ${row} AS r FROM ${table} t ORDER BY id`);
    return result.rows.map((found) => String(found.r));
  } catch {
    return []; // the replica table does not exist yet
  }
}

/** Starts a pipeline `items` → PostgreSQL replica publishing through the registry at `url`. */
export async function startRegistryPipeline(prefix: string, options: StartOptions = {}): Promise<Setup> {
  const kind = options.sourceKind ?? 'postgres';
  const source = await createSource(prefix, kind);
  const replica = await createDatabase(`${prefix}_dst`);
  cleanups.push(() => replica.drop());
  const pipeline = await createTestPipeline({
    prefix,
    source: {
      kind,
      url: source.url,
      tables: [kind === 'postgres' ? 'public.items' : `${source.name}.items`],
    },
    replica: { kind: 'postgres', url: replica.url },
    onError: 'stop',
  });
  cleanups.push(() => pipeline.cleanup());
  const config: PipelineConfig = {
    ...pipeline.config,
    kafka: {
      ...pipeline.config.kafka,
      schemaRegistry: {
        url: options.url ?? REGISTRY,
        subjectNameStrategy: 'topic-record',
        onIncompatible: options.onIncompatible ?? 'stop',
        requestTimeoutMs: 5_000,
        retryTimeoutMs: options.retryTimeoutMs ?? 20_000,
      },
    },
  };
  const running = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }), {
    api: false,
  });
  cleanups.push(() => running.stop());
  return { source, replica, pipeline, running };
}

/** The replica's copy of `items` (a MariaDB source's table keeps its database's name as the schema). */
export function replicaRows(setup: Setup, columns?: readonly string[]): Promise<string[]> {
  const table = setup.source.kind === 'mariadb' ? `"${setup.source.name}".items` : 'items';
  return pgRows(setup.replica, columns, table);
}

/**
 * Waits until the replica's `items` equals the source's: whole rows from a PostgreSQL source, the given
 * columns (by default id and name) from a MariaDB one.
 */
export async function waitEqual(
  setup: Setup,
  when: string,
  columns = setup.source.kind === 'mariadb' ? ['id', 'name'] : undefined,
  timeoutMs = 120_000,
): Promise<void> {
  let expected: string[] = [];
  let actual: string[] = [];
  await waitFor(
    `the replica to equal the source ${when}`,
    async () => {
      expected = await setup.source.rows(columns);
      actual = await replicaRows(setup, columns);
      return JSON.stringify(actual) === JSON.stringify(expected);
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}; source ${expected.length} rows, replica ${actual.length} rows: ` +
        `${JSON.stringify(expected.filter((row) => !actual.includes(row)).slice(0, 5))} missing`,
    );
  });
}

/**
 * Reads the changelog until it holds at least `count` records and checks each is in the Confluent wire format
 * (byte 0, then a 4-byte id) with a key and value schema id the registry knows.
 */
export async function assertRegistryWireFormat(setup: Setup, count: number): Promise<KafkaMessage[]> {
  const records = await readRaw(setup.pipeline.topics.changelog, (messages) => messages.length >= count);
  const ids = new Set<number>();
  for (const record of records) {
    assert.equal(record.value?.[0], 0, `record at offset ${record.offset} starts with byte 0`);
    ids.add((record.value ?? Buffer.alloc(5)).readUInt32BE(1));
    if (record.key?.[0] === 0) ids.add(record.key.readUInt32BE(1));
  }
  for (const id of ids) {
    const answer = await registry('GET', `/schemas/ids/${id}`);
    assert.equal(answer.status, 200, `the registry knows schema id ${id}`);
  }
  return records;
}
