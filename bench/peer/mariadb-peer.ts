/**
 * MariaDB side by side: the bench's pre-written rows read from the binlog by us and by Debezium Server in each
 * of its configurations. We are told the GTID position before the rows; Debezium's binlog connectors cannot
 * be (without a snapshot they start where the binlog ends), so each of its runs is started once before the
 * rows are written, until it delivers a marker row, and stopped: it then resumes from the offsets it stored.
 */
import mysql from 'mysql2/promise';
import type { Logger } from '../../common/logger.ts';
import { currentGtidPosition } from '../../connectors/mysql/replication/source-checks.ts';
import { uniqueName } from '../../test/support/stack.ts';
import type { BenchEnv } from '../env.ts';
import { createMariadbBenchTable, writeMariadbRows } from '../mariadb-bench.ts';
import { captureApart } from '../stages-apart.ts';
import { mariadbSettings } from './debezium-settings.ts';
import { runUntilReady, topicRecords } from './debezium-stage.ts';
import { PeerKafka, type PeerComparison } from './peer-runs.ts';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';

export async function peerMariadb(env: BenchEnv, rows: number, logger: Logger): Promise<PeerComparison> {
  const database = uniqueName('peer_my');
  const sql = await mysql.createConnection(mysqlConnectOptions(env.mariadbUrl));
  const prefix = `peer-${database.slice(-6)}`;
  const peer = await PeerKafka.open(env.brokers, prefix, logger);
  try {
    await createMariadbBenchTable(sql, database);
    await sql.query(`CREATE TABLE \`${database}\`.bench_mark (id INT AUTO_INCREMENT PRIMARY KEY)`);
    const serverId = 930_000 + Math.floor(Math.random() * 10_000);
    const markTopic = (topicPrefix: string) => `${topicPrefix}.${database}.bench_mark`;
    const runs = await peer.prepareRuns({
      topics: (topicPrefix) => ({
        rows: `${topicPrefix}.${database}.bench_rows`,
        others: [markTopic(topicPrefix)],
      }),
      settings: (index) =>
        mariadbSettings(env.mariadbUrl, serverId + index, database, ['bench_rows', 'bench_mark']),
    });
    for (const run of runs) {
      // Offsets stored after every batch, so the marker's is stored when it is seen.
      const settings = { ...run.settings, 'debezium.source.offset.flush.interval.ms': '0' };
      await runUntilReady(
        run.folder,
        settings,
        `Debezium Server (${run.configuration.name}) streaming`,
        async () => {
          await sql.query(`INSERT INTO \`${database}\`.bench_mark () VALUES ()`);
          return (await topicRecords(peer.admin, markTopic(run.topicPrefix))) > 0;
        },
      );
    }
    const from = await currentGtidPosition(sql, 'mariadb');
    await writeMariadbRows(sql, database, rows);

    // In a process of its own, as in postgres-peer.ts.
    const ours = await captureApart({ kind: 'mariadb-capture', database, from, prefix, rows });
    const theirs = await peer.measureRuns('MariaDB', rows);
    return { source: 'MariaDB', ours, theirs };
  } finally {
    await peer.close();
    await sql.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await sql.end();
  }
}
