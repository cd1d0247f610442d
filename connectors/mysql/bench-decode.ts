/**
 * Measures decode rates on the local MariaDB (not a test): writes N small rows in one database, then reads them
 * back from the binlog (1) raw through the binlog client wrapper and (2) through the whole connector (change
 * events with exact values). Usage: node connectors/mysql/bench-decode.ts [rows] [mysql-url]
 */
import mysql from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { BinlogClient } from './replication/binlog-client.ts';
import { currentGtidPosition } from './replication/source-checks.ts';
import { MysqlConnector } from './mysql-connector.ts';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';

const rows = Number(process.argv[2] ?? 200_000);
const url = process.argv[3] ?? process.env.CDC_MARIADB_URL ?? 'mysql://root@127.0.0.1:53306/';
const database = `bench_${randomBytes(4).toString('hex')}`;
const parts = mysqlConnectOptions(url);
const sql = await mysql.createConnection({ ...parts, multipleStatements: true });

function report(label: string, count: number, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${label}: ${count} rows in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} rows/s\n`,
  );
}

try {
  await sql.query(`CREATE DATABASE \`${database}\``);
  await sql.query(
    `CREATE TABLE \`${database}\`.t (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), at DATETIME(6), flag TINYINT)`,
  );
  const from = await currentGtidPosition(sql, 'mariadb');
  const batch = 5000;
  for (let start = 0; start < rows; start += batch) {
    const values = Array.from(
      { length: Math.min(batch, rows - start) },
      (_, i) => `(${start + i}, 'name ${start + i}', ${i}.25, '2024-01-01 00:00:00.123456', 1)`,
    );
    await sql.query(`INSERT INTO \`${database}\`.t VALUES ${values.join(',')}`);
  }

  const abort = new AbortController();
  const client = new BinlogClient({
    ...parts,
    serverId: 900_000 + Math.floor(Math.random() * 1000),
    gtidSet: from,
    databases: [database],
  });
  let started = performance.now();
  await client.start();
  let seen = 0;
  for await (const message of client.messages(abort.signal)) {
    if (message.kind === 'rows') seen += message.rows.length;
    if (seen >= rows) break;
  }
  client.stop();
  report('binlog client (raw rows)', seen, started);

  const connector = new MysqlConnector({
    name: 'bench',
    url,
    flavor: 'mariadb',
    serverId: 901_000 + Math.floor(Math.random() * 1000),
    tables: [`${database}.*`],
    snapshot: 'never',
  });
  started = performance.now();
  let events = 0;
  for await (const out of connector.stream(
    {
      position: { commit: { kind: 'binlog', flavor: 'mariadb', gtidSet: from, seq: 0n }, index: 0 },
      state: null,
    },
    abort.signal,
  )) {
    events += out.events.length;
    if (events >= rows) break;
  }
  report('connector (change events)', events, started);
} finally {
  await sql.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await sql.end();
}
