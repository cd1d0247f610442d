/**
 * MariaDB catch-up benchmark: N rows written to a fresh MariaDB database, then read from the binlog by the
 * whole capture (binlog → change events → Kafka) and applied to a PostgreSQL replica and to a MariaDB one,
 * each next to a raw limit from the same run: the binlog client decoding the same rows without building change
 * events, and batched INSERTs into each replica's server.
 */
import mysql from 'mysql2/promise';
import type { SourceConnector } from '../connectors/connector.ts';
import { MysqlConnector } from '../connectors/mysql/mysql-connector.ts';
import { BinlogClient } from '../connectors/mysql/replication/binlog-client.ts';
import { currentGtidPosition } from '../connectors/mysql/replication/source-checks.ts';
import type { EventPosition } from '../schemas/positions/position.ts';
import type { Logger } from '../common/logger.ts';
import { ChangePublisher } from '../services/kafka/publisher.ts';
import { uniqueName } from '../test/support/stack.ts';
import { applyApart, captureApart } from './stages-apart.ts';
import type { BenchEnv } from './env.ts';
import { targets } from './targets.ts';
import { measure, type CaptureOutcome, type StageResult } from './measure.ts';
import { insertRaw } from './raw-limits.ts';
import { mysqlConnectOptions, type MysqlConnectOptions } from '../common/connect/mysql-url.ts';

/** A fresh bench table, `<database>.bench_rows`, in a new database. */
export async function createMariadbBenchTable(sql: mysql.Connection, database: string): Promise<void> {
  await sql.query(`CREATE DATABASE \`${database}\``);
  await sql.query(
    `CREATE TABLE \`${database}\`.bench_rows (id BIGINT PRIMARY KEY, account INT NOT NULL, amount DECIMAL(12,2) NOT NULL,
       note VARCHAR(64), flag BOOLEAN NOT NULL, created DATETIME(6) NOT NULL)`,
  );
}

/** Writes `rows` narrow rows into the bench table, 10,000 to a statement. */
export async function writeMariadbRows(sql: mysql.Connection, database: string, rows: number): Promise<void> {
  for (let start = 1; start <= rows; start += 10_000) {
    const values: string[] = [];
    for (let id = start; id < start + 10_000 && id <= rows; id++) {
      values.push(
        `(${id}, ${id % 1000}, ${(id % 100_000) / 100}, 'note ${id}', ${id % 2}, '2024-01-01 00:00:00.${String(id % 1e6).padStart(6, '0')}')`,
      );
    }
    await sql.query(`INSERT INTO \`${database}\`.bench_rows VALUES ${values.join(',')}`);
  }
}

/**
 * Times our capture (binlog → Kafka) of the bench rows written after the GTID position `from`; returns it and
 * its changelog topic.
 */
export async function captureMariadb(
  env: BenchEnv,
  database: string,
  from: string,
  prefix: string,
  rows: number,
  logger: Logger,
): Promise<CaptureOutcome> {
  const connector = new MysqlConnector(
    {
      name: 'bench',
      url: env.mariadbUrl,
      flavor: 'mariadb',
      serverId: 910_000 + Math.floor(Math.random() * 10_000),
      tables: [`${database}.*`],
      snapshot: 'never',
      maxTransactionEvents: 100_000,
    },
    logger,
  );
  // Pre-written rows: a first start reads from the GTID position before them instead of the current one.
  const start: EventPosition = {
    commit: { kind: 'binlog', flavor: 'mariadb', gtidSet: from, seq: 0n },
    index: 0,
  };
  const fromStart: SourceConnector = {
    name: connector.name,
    stream: (resume, signal) =>
      connector.stream(resume.position ? resume : { position: start, state: null }, signal),
    acknowledge: (commit) => connector.acknowledge(commit),
    status: () => connector.status(),
    requestSnapshot: (tables) => connector.requestSnapshot(tables),
  };
  const publisher = new ChangePublisher({ brokers: env.brokers, prefix, connector: 'bench', logger });
  const capture = await measure('MariaDB → Kafka (capture)', rows, (signal) => ({
    running: publisher.run(fromStart, signal),
    events: () => publisher.status().eventsPublished,
  }));
  return { capture, changelog: publisher.topics.changelog, transactions: publisher.status().transactions };
}

export async function benchMariadb(env: BenchEnv, rows: number): Promise<StageResult[]> {
  const database = uniqueName('bench_my');
  const parts = mysqlConnectOptions(env.mariadbUrl);
  const sql = await mysql.createConnection({ ...parts, multipleStatements: true });
  const replica = await env.createPgDatabase('bench_my_dst');
  const prefix = `bench-${database.slice(-6)}`;
  try {
    await createMariadbBenchTable(sql, database);
    const from = await currentGtidPosition(sql, 'mariadb');
    await writeMariadbRows(sql, database, rows);

    const rawSeconds = await decodeRaw(parts, from, database, rows);

    const { capture, changelog } = await captureApart({
      kind: 'mariadb-capture',
      database,
      from,
      prefix,
      rows,
    });
    const captured = {
      ...capture,
      rawName: 'binlog client decode (zongji)',
      rawSeconds,
      target: targets.mariadbCapture,
    };
    if (env.captureOnly) return [captured];
    const apply = await applyApart({
      kind: 'apply',
      stage: 'Kafka → PostgreSQL replica (apply, from MariaDB)',
      prefix,
      changelog,
      target: { kind: 'postgres', url: replica.url, table: `"${database}".bench_rows` },
      rows,
    });
    const rawInsert = await insertRaw(replica.url, rows);
    // The same changelog into a MariaDB replica, next to the same rows written to MariaDB 10,000 to an INSERT.
    await sql.query(`CREATE DATABASE \`${database}_rep\``);
    const toMariadb = await applyApart({
      kind: 'apply',
      stage: 'Kafka → MariaDB replica (apply, from MariaDB)',
      prefix,
      changelog,
      target: { kind: 'mariadb', url: env.mariadbUrl, database: `${database}_rep`, table: 'bench_rows' },
      rows,
    });
    const rawMariadb = await timeMariadbInsert(sql, `${database}_raw`, rows);
    return [
      captured,
      { ...apply, rawName: 'batched INSERT into replica', rawSeconds: rawInsert, target: targets.apply },
      {
        ...toMariadb,
        rawName: 'batched INSERT into MariaDB (10,000 rows each)',
        rawSeconds: rawMariadb,
        target: targets.apply,
      },
    ];
  } finally {
    for (const name of [database, `${database}_rep`, `${database}_raw`])
      await sql.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await sql.end();
    await replica.drop();
  }
}

/** Seconds MariaDB takes to accept the bench rows into a new bench table in `database`, a raw write rate. */
async function timeMariadbInsert(sql: mysql.Connection, database: string, rows: number): Promise<number> {
  await createMariadbBenchTable(sql, database);
  const started = performance.now();
  await writeMariadbRows(sql, database, rows);
  return (performance.now() - started) / 1000;
}

/** Seconds the binlog client alone takes to decode the rows written since `from`. */
async function decodeRaw(
  parts: MysqlConnectOptions,
  from: string,
  database: string,
  rows: number,
): Promise<number> {
  const abort = new AbortController();
  const client = new BinlogClient({
    ...parts,
    serverId: 920_000 + Math.floor(Math.random() * 10_000),
    gtidSet: from,
    databases: [database],
  });
  const started = performance.now();
  await client.start();
  let seen = 0;
  try {
    for await (const message of client.messages(abort.signal)) {
      if (message.kind === 'rows') seen += message.rows.length;
      if (seen >= rows) break;
    }
  } finally {
    client.stop();
  }
  return (performance.now() - started) / 1000;
}
