/**
 * The migration demo (bash stack/migrate-demo.sh): a small MariaDB shop migrated to PostgreSQL with
 * examples/migrate-mariadb.yaml while an application user keeps writing to it. Shows the phase lines, a verify
 * report, the cutover with its takeover position, and a write on PostgreSQL reaching MariaDB through the
 * reverse path; then cleans up what would otherwise hold on to shared resources (the read-only fence, the
 * reverse slot, the demo's Kafka topics). Ends by itself in about a minute.
 */
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createLogger } from '../common/logger.ts';
import { loadConfig } from '../services/config/load.ts';
import { createKafka } from '../services/kafka/client.ts';
import { clusterOf } from '../services/kafka/security.ts';
import { cutover } from '../services/migrate/cutover.ts';
import { startMigration } from '../services/migrate/forward.ts';
import { formatPhase } from '../services/migrate/phases.ts';
import { migrationPlan } from '../services/migrate/plan.ts';
import { startReverse } from '../services/migrate/reverse.ts';
import { verifyReplica } from '../services/verify/verify-replica.ts';
import { formatVerifyReport } from '../services/cli/verify-format.ts';
import { formatCutover } from '../services/cli/commands/migrate-cutover.ts';
import { mysqlConnectOptions } from '../common/connect/mysql-url.ts';

// Fresh names per run, so a demo never resumes an earlier one's Kafka state.
process.env.CDC_MIGRATE_PREFIX ??= `migrate-demo-${Date.now().toString(36)}`;
process.env.CDC_MIGRATE_SOURCE_DB ??= 'shop_migrate_demo';
process.env.CDC_MIGRATE_TARGET_DB ??= 'shop_migrate_demo';
const configPath = process.argv[2] ?? new URL('./migrate-mariadb.yaml', import.meta.url).pathname;
const plan = migrationPlan(await loadConfig(configPath));
const sourceDb = new URL(plan.source.url).pathname.slice(1);
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'error', name: 'migrate-demo' });
const say = (line: string) => console.log(line);

// --- a fresh shop on MariaDB, an application user, an empty PostgreSQL database ---
const admin = await mysql.createConnection({
  ...mysqlConnectOptions(plan.source.url),
  multipleStatements: true,
});
await admin.query(`SET GLOBAL read_only = OFF`);
await admin.query(`DROP DATABASE IF EXISTS \`${sourceDb}\`; CREATE DATABASE \`${sourceDb}\`; USE \`${sourceDb}\`;
  CREATE TABLE customers (id int PRIMARY KEY, name varchar(60) NOT NULL, email varchar(120));
  CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount decimal(10,2) NOT NULL,
    status varchar(20) NOT NULL, created_at datetime(6) NOT NULL);
  INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_200;
  INSERT INTO orders SELECT seq, 1 + seq % 200, (seq % 900) + 0.99, 'new', NOW(6) FROM seq_1_to_20000;
  DROP USER IF EXISTS 'shop_app'@'127.0.0.1'; CREATE USER 'shop_app'@'127.0.0.1' IDENTIFIED BY 'shop-app-demo';
  GRANT SELECT, INSERT, UPDATE, DELETE ON \`${sourceDb}\`.* TO 'shop_app'@'127.0.0.1';`);
const targetUrl = new URL(plan.replica.url);
const targetDb = targetUrl.pathname.slice(1);
const pgAdmin = new pg.Client({
  connectionString: Object.assign(new URL(targetUrl), { pathname: '/postgres' }).toString(),
});
await pgAdmin.connect();
await pgAdmin.query(
  `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`,
  [targetDb],
);
await pgAdmin.query(`DROP DATABASE IF EXISTS "${targetDb.replaceAll('"', '""')}" WITH (FORCE)`);
await pgAdmin.query(`CREATE DATABASE "${targetDb.replaceAll('"', '""')}"`);
say(`MariaDB ${sourceDb}: 200 customers, 20000 orders; the application user shop_app writes to it.`);

// --- the application: small transactions as shop_app until the fence refuses them ---
const app = await mysql.createConnection({
  ...mysqlConnectOptions(plan.source.url),
  user: 'shop_app',
  password: 'shop-app-demo',
  database: sourceDb,
});
let written = 0;
let paused = false;
const writer = (async () => {
  for (let id = 100_000; ; id++) {
    if (paused) {
      await delay(50);
      continue;
    }
    try {
      await app.query(`INSERT INTO orders VALUES (?, ?, 19.99, 'new', NOW(6))`, [id, 1 + (id % 200)]);
      await app.query(`UPDATE orders SET status = 'paid' WHERE id = ?`, [1 + (id % 20000)]);
      written++;
    } catch (error) {
      if ((error as { errno?: unknown }).errno === 1290) return; // the read-only fence is up
      throw error;
    }
    await delay(20);
  }
})();

// --- start: copy, catch up, in sync ---
const migration = await startMigration(plan, logger, { api: false, inSyncLagMs: 1_000, cutoverPollMs: 250 });
say(`\n$ cdc migrate start -c ${configPath}`);
let inSyncSince = 0;
while (inSyncSince === 0 || Date.now() - inSyncSince < 4_000) {
  const phase = migration.phase();
  say(`  ${formatPhase(phase)}`);
  if (phase.phase === 'failed') throw new Error(phase.error);
  if (phase.phase === 'in-sync' && inSyncSince === 0) inSyncSince = Date.now();
  if (phase.phase !== 'in-sync') inSyncSince = 0;
  await delay(1_000);
}

// --- verify (the writer pauses, so rows in flight do not show up as differences) ---
say(`\n$ cdc migrate verify -c ${configPath}`);
paused = true;
const report = await verifyReplica(plan.config, { replica: plan.replica.name }, { logger });
say(formatVerifyReport(report).replace(/^/gm, '  '));
paused = false;
await delay(2_000);

// --- cutover ---
say(`\n$ cdc migrate cutover -c ${configPath}`);
const done = await cutover(plan, { fence: 'read-only', logger, onProgress: (line) => say(`  ${line}`) });
await writer;
say(`  (the application wrote ${written} transactions, then the fence refused it)`);
say(formatCutover(done).replace(/^/gm, '  '));
const stopped = await migration.done;
say(`  migrate start saw the cutover at LSN ${stopped?.targetLsn ?? '?'} and stopped capturing from MariaDB`);

// --- the way back: a write on PostgreSQL reaches MariaDB ---
say(`\n$ cdc migrate reverse -c ${configPath}`);
const reverse = await startReverse(plan, logger);
const target = new pg.Client({ connectionString: plan.replica.url });
await target.connect();
await target.query(`INSERT INTO "${sourceDb}".orders VALUES (999999, 1, 42.00, 'on postgres', now())`);
for (let i = 0; i < 60; i++) {
  const [rows] = await admin.query(`SELECT status FROM \`${sourceDb}\`.orders WHERE id = 999999`);
  if ((rows as unknown[]).length > 0) break;
  await delay(500);
}
const [back] = await admin.query(`SELECT id, status FROM \`${sourceDb}\`.orders WHERE id = 999999`);
say(
  `  order 999999 on MariaDB: ${JSON.stringify(back)}; forward-origin events dropped: ${reverse.status().loopEventsDropped}`,
);
await reverse.stop();

// --- cleanup of shared resources; the two databases stay for a look ---
await admin.query(`SET GLOBAL read_only = OFF; DROP USER IF EXISTS 'shop_app'@'127.0.0.1'`);
await pgAdmin.query(
  `SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $2 AND NOT active`,
  [done.record.slot, done.record.slot],
);
const kafka = createKafka({ ...clusterOf(plan.config.kafka), clientId: 'migrate-demo' }).admin();
await kafka.connect();
const prefix = `${plan.config.kafka.topicPrefix}.`;
await kafka.deleteTopics({ topics: (await kafka.listTopics()).filter((topic) => topic.startsWith(prefix)) });
await kafka.disconnect();
await Promise.all([app.end(), admin.end(), target.end(), pgAdmin.end()]);
say(
  `\nDemo done: MariaDB is writable again (demo only), the reverse slot and the demo topics are gone;` +
    ` compare ${sourceDb} on MariaDB with database ${targetDb} on PostgreSQL at leisure.`,
);
