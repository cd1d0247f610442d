/**
 * The whole MariaDB → PostgreSQL migration on the live stack: a writer (the application user) changes the shop
 * while it is copied and while the replica catches up; a live verify finds the replica equal; the cutover fences
 * the source (the writer is refused), reports the takeover position, and the data verifies equal at the fence;
 * then writes on PostgreSQL reach MariaDB through the reverse path, and nothing the forward stream wrote loops
 * back.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { parseMariadbPosition } from '../../../schemas/positions/mariadb-gtid.ts';
import { parseLsn } from '../../../schemas/positions/lsn.ts';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { cutover } from '../../../services/migrate/cutover.ts';
import { readCutover } from '../../../services/migrate/cutover-record.ts';
import { startMigration } from '../../../services/migrate/forward.ts';
import type { MigrationPhase } from '../../../services/migrate/phases.ts';
import { migrationPlan } from '../../../services/migrate/plan.ts';
import { startReverse } from '../../../services/migrate/reverse.ts';
import { verifyReplica } from '../../../services/verify/verify-replica.ts';
import { delayWait } from '../../../services/verify/waits.ts';
import { deleteKafkaState, readChangelog, topicEnd } from '../../support/changelog.ts';
import { forgetMariadbAppliedPosition } from '../../support/mariadb.ts';
import { adminQuery, createDatabase as createPgDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { adminConnection, createDatabase as createMariadbDatabase } from '../mysql/harness.ts';
import { createAppUser, mariadbShop, postgresShop, seedShop, startWriter } from './shop.ts';

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  // Every cleanup runs even when one fails; the failures are reported together.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
});

async function setReadOnly(on: boolean): Promise<void> {
  const admin = await adminConnection();
  await admin.query(`SET GLOBAL read_only = ${on ? 'ON' : 'OFF'}`);
  await admin.end();
}

void describe('MariaDB → PostgreSQL migration', () => {
  void test('copy and catch-up under writes, cutover at a fence, reverse path without loops', async () => {
    const source = await createMariadbDatabase('mig_src');
    cleanups.push(() => source.drop());
    const target = await createPgDatabase('mig_dst');
    cleanups.push(() => target.drop());
    await seedShop(source.sql, 3_000);
    const app = await createAppUser(source.name);
    cleanups.push(() => app.drop());

    const prefix = uniqueName('mig').replaceAll('_', '-');
    const sourceName = uniqueName('shop').replaceAll('_', '-');
    const config = parseConfig(
      JSON.stringify({
        name: prefix,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
        sources: [
          {
            name: sourceName,
            kind: 'mariadb',
            url: `${stack.mariadbUrl}${source.name}`,
            serverId: 70_000 + Math.floor(Math.random() * 1_000_000),
            snapshotChunkRows: 250,
            heartbeatIntervalMs: 500,
          },
        ],
        replicas: [{ name: 'pg', source: sourceName, kind: 'postgres', url: target.url, onError: 'stop' }],
      }),
      'json',
    );
    const plan = migrationPlan(config);
    const forwardTopics = connectorTopics(prefix, sourceName);
    const reverseTopics = connectorTopics(prefix, plan.reverse.sourceName);
    cleanups.push(async () => {
      // Never leave the shared server read-only, whatever happened.
      await setReadOnly(false);
      await adminQuery(
        'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
        [plan.forwardOrigin],
      );
      const admin = await adminConnection();
      await forgetMariadbAppliedPosition(plan.reverse.sourceName);
      const [fenceTable] = await admin.query(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = 'cdc_migrate' AND table_name = 'fence'`,
      );
      if ((fenceTable as unknown[]).length > 0)
        await admin.query('DELETE FROM `cdc_migrate`.`fence` WHERE migration = ?', [plan.name]);
      await admin.end();
      await deleteKafkaState(
        [
          forwardTopics.changelog,
          forwardTopics.deadLetter,
          reverseTopics.changelog,
          reverseTopics.deadLetter,
          forwardTopics.schemas,
        ],
        [
          `${prefix}.apply.pg`,
          `${prefix}.capture.${sourceName}`,
          `${prefix}.apply.${plan.reverse.replicaName}`,
          `${prefix}.capture.${plan.reverse.sourceName}`,
        ],
      );
    });

    // Writes run from before the copy starts until the fence refuses them.
    const writer = startWriter(app, 100_000);
    cleanups.push(() => writer.stop());
    await waitFor('the writer to commit', () => writer.committed() > 20);
    const migration = await startMigration(plan, logger, {
      api: false,
      inSyncLagMs: 2_000,
      cutoverPollMs: 250,
    });
    cleanups.push(() => migration.stop());
    const phases: MigrationPhase[] = [];
    await waitFor(
      'the migration to reach in-sync',
      () => {
        const phase = migration.phase();
        if (phases.at(-1)?.phase !== phase.phase) phases.push(phase);
        else phases[phases.length - 1] = phase;
        if (phase.phase === 'failed') throw new Error(phase.error);
        return phase.phase === 'in-sync';
      },
      { timeoutMs: 180_000, intervalMs: 50 },
    );
    const writtenAtInSync = writer.committed();
    const kinds = phases.map((phase) => phase.phase);
    assert.ok(
      kinds.includes('catching-up') || kinds.includes('copying'),
      `phases seen: ${kinds.join(' → ')}`,
    );
    const copying = phases.find((phase) => phase.phase === 'copying');
    if (copying?.phase === 'copying')
      assert.ok(
        copying.rowsTotal >= copying.rowsDone,
        `copying reports rows done of a total: ${JSON.stringify(copying)}`,
      );

    // Verify while the pipeline runs: rows the writer changes during the read would show as in-flight
    // differences (docs/migration.md), so writes pause; rechecks cover what the replica has not applied yet.
    writer.pause();
    const live = await verifyReplica(
      config,
      { replica: 'pg' },
      { logger, recheck: { attempts: 10, wait: delayWait(1_000) } },
    );
    assert.equal(live.equal, true, `live verify: ${JSON.stringify(live.tables.filter((t) => !t.equal))}`);
    assert.deepEqual(live.tables.map((t) => t.table).sort(), [
      `${source.name}.customers`,
      `${source.name}.orders`,
    ]);
    writer.resume();
    await waitFor('more writes during catch-up', () => writer.committed() > writtenAtInSync + 20);

    const report = await cutover(plan, {
      fence: 'read-only',
      timeoutMs: 90_000,
      tickIntervalMs: 300,
      logger,
    });
    assert.equal(await writer.done, 'fenced', 'the application user is refused once the fence is up');
    const written = writer.committed();
    assert.ok(written > writtenAtInSync, `writes during catch-up (${writtenAtInSync} → ${written})`);
    const fencedRows = await mariadbShop(source.sql);
    // The takeover position: the source's GTID position at the fence and the target's LSN.
    assert.ok(parseMariadbPosition(report.record.sourceGtid).gtids.length > 0, report.record.sourceGtid);
    assert.ok(parseLsn(report.record.targetLsn) > 0n, report.record.targetLsn);
    assert.equal(report.verify.equal, true, 'final verify at the fence');
    assert.deepEqual(await postgresShop(target, source.name), fencedRows, 'replica equals the fenced source');
    // The running migration sees the record and stops capturing from the old source.
    const seen = await migration.done;
    assert.equal(seen?.targetLsn, report.record.targetLsn);
    assert.deepEqual(await readCutover(target.url, plan.name), report.record);
    const forwardEnd = await topicEnd(forwardTopics.changelog);
    // The shared server is read-only only for as long as the test needs; the reverse apply runs as root anyway.
    await setReadOnly(false);

    const reverse = await startReverse(plan, logger);
    cleanups.push(() => reverse.stop());
    const schema = `"${source.name}"`;
    // A late write of the forward stream (its replication origin) must not go back to MariaDB...
    // (its own session: the origin marks the commit, and must not stay on a pooled connection).
    const forwardSession = new pg.Client({ connectionString: target.url });
    await forwardSession.connect();
    await forwardSession.query('SELECT pg_replication_origin_session_setup($1)', [plan.forwardOrigin]);
    await forwardSession.query(
      `INSERT INTO ${schema}.orders VALUES (900001, 1, 1.00, 'forward', '2024-05-05 05:05:05.000005')`,
    );
    await forwardSession.end();
    // ...while the application's writes on the new primary do.
    await target.query(
      `INSERT INTO ${schema}.orders VALUES (900002, 2, 22.50, 'on-postgres', '2024-06-06 06:06:06.000006')`,
    );
    await target.query(`UPDATE ${schema}.customers SET email = 'moved@example.com' WHERE id = 3`);
    await target.query(`DELETE FROM ${schema}.orders WHERE id = (SELECT min(id) FROM ${schema}.orders)`);
    const expected = (await postgresShop(target, source.name)).filter(
      (line) => !line.startsWith('o|900001|'),
    );
    let onMariadb: string[] = [];
    await waitFor(
      'the application writes on PostgreSQL to reach MariaDB',
      async () => JSON.stringify((onMariadb = await mariadbShop(source.sql))) === JSON.stringify(expected),
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      const missing = expected.filter((line) => !onMariadb.includes(line));
      const extra = onMariadb.filter((line) => !expected.includes(line));
      assert.fail(
        `${String(error)}\nmissing on MariaDB: ${JSON.stringify(missing)}\nextra: ${JSON.stringify(extra)}\nreverse: ${JSON.stringify(reverse.status())}`,
      );
    });
    const [forwardRow] = await source.sql.query('SELECT id FROM orders WHERE id = 900001');
    assert.deepEqual(forwardRow, [], 'the forward-origin write stayed on PostgreSQL');
    assert.ok(
      reverse.status().loopEventsDropped >= 1,
      'the reverse capture dropped the forward-origin change',
    );
    const reverseEvents = await readChangelog(prefix, reverseTopics.changelog);
    assert.deepEqual(
      reverseEvents.map((e) => `${e.event.op}:${e.event.table.table}:${e.event.source.origin ?? 'local'}`),
      ['c:orders:local', 'u:customers:local', 'd:orders:local'],
      'the reverse changelog holds exactly the writes made on PostgreSQL',
    );
    // Nothing came back the other way: the forward changelog did not grow after the cutover.
    assert.equal(await topicEnd(forwardTopics.changelog), forwardEnd);
    await reverse.stop();
  });
});
