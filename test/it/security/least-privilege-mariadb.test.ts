/**
 * A MariaDB → MariaDB pipeline run by accounts that hold only what `cdc grants` gives them: a capture user
 * with REPLICATION SLAVE, BINLOG MONITOR and SELECT, and a writer with rights on its database and
 * `cdc_apply` only (BINLOG REPLAY to mark its writes). After the snapshot and streamed changes the replica
 * equals the source; a writer without BINLOG REPLAY stops naming the GRANT, and a capture user without
 * REPLICATION SLAVE is refused at start-up naming it.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { grantBlocks, type GrantBlock } from '../../../services/privileges/grants.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  mariadbAdminQuery,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

/** An account with no privilege at all until grants say so. */
async function createAccount(prefix: string): Promise<string> {
  const user = uniqueName(prefix);
  await mariadbAdminQuery(`CREATE USER '${user}'@'%' IDENTIFIED BY 'secret-${user}'`);
  cleanups.push(async () => {
    await mariadbAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`);
  });
  return user;
}

function asUser(db: MariadbTestDatabase, user: string): string {
  const url = new URL(db.url);
  url.username = user;
  url.password = `secret-${user}`;
  return url.toString();
}

async function runGrants(block: GrantBlock, skip: (statement: string) => boolean = () => false) {
  for (const statement of block.statements) if (!skip(statement)) await mariadbAdminQuery(statement);
}

interface Setup {
  readonly source: MariadbTestDatabase;
  readonly replica: MariadbTestDatabase;
  readonly config: PipelineConfig;
  readonly capture: GrantBlock;
  readonly writer: GrantBlock;
}

async function setUp(name: string): Promise<Setup> {
  const source = await createMariadbDatabase('lpm_src');
  cleanups.push(() => source.drop());
  const replica = await createMariadbDatabase('lpm_dst');
  cleanups.push(() => replica.drop());
  const sourceName = uniqueName(name).replaceAll('_', '-');
  cleanups.push(() => forgetMariadbAppliedPosition(sourceName));
  await source.query('CREATE TABLE items (id bigint PRIMARY KEY, name varchar(40) NOT NULL, qty int)');
  await source.query(`INSERT INTO items SELECT seq, CONCAT('item ', seq), seq FROM seq_1_to_300`);
  const capture = await createAccount('lpm_cap');
  const writer = await createAccount('lpm_wr');
  const config = parseConfig(
    JSON.stringify({
      name: sourceName,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: sourceName },
      sources: [
        {
          name: sourceName,
          kind: 'mariadb',
          url: asUser(source, capture),
          snapshotChunkRows: 100,
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [
        { name: 'copy', source: sourceName, kind: 'mariadb', url: asUser(replica, writer), onError: 'stop' },
      ],
    }),
    'json',
  );
  const [captureBlock, writerBlock] = grantBlocks(config);
  assert.ok(captureBlock !== undefined && writerBlock !== undefined);
  return { source, replica, config, capture: captureBlock, writer: writerBlock };
}

const rowsOf = async (db: MariadbTestDatabase) =>
  JSON.stringify(await db.query(`SELECT id, name, qty FROM \`${db.name}\`.items ORDER BY id`));

void describe('MariaDB accounts with the grants of cdc grants', () => {
  void test('capture and apply as those accounts: the replica equals the source', async () => {
    const { source, replica, config, capture, writer } = await setUp('lpm');
    await runGrants(capture);
    await runGrants(writer);
    const pipeline = await startPipeline(config, logger, { api: false });
    cleanups.push(() => pipeline.stop());
    const equal = async (when: string) => {
      let seen = '';
      await waitFor(
        `the replica to equal the source ${when}`,
        async () => {
          seen = await rowsOf(replica).catch((error: unknown) => String(error));
          return seen === (await rowsOf(source));
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ).catch(() => {
        const state = [...pipeline.connectors(), ...pipeline.workers()].map(
          (part) => `${part.name} ${part.state} ${part.lastError ?? ''}`,
        );
        assert.fail(`${when}: the replica holds ${seen.slice(0, 200)}; ${state.join('; ')}`);
      });
    };
    await equal('after the snapshot');
    for (let round = 0; round < 10; round++) {
      await source.query(`INSERT INTO items VALUES (${1000 + round}, 'new ${round}', ${round})`);
      await source.query(`UPDATE items SET qty = qty + 1 WHERE id % 10 = ${round}`);
      await source.query(`DELETE FROM items WHERE id = ${round * 7 + 1}`);
    }
    await equal('after streaming');
    for (const worker of pipeline.workers()) assert.equal(worker.state, 'running', worker.lastError ?? '');
    const grants = await mariadbAdminQuery(`SHOW GRANTS FOR '${writer.user}'@'%'`);
    assert.ok(
      !JSON.stringify(grants).includes('ON *.*') || JSON.stringify(grants).includes('BINLOG REPLAY ON *.*'),
      'the writer holds nothing server-wide but BINLOG REPLAY',
    );
  });

  void test('a writer without BINLOG REPLAY stops naming the GRANT, dead-lettering nothing', async () => {
    const { config, capture, writer } = await setUp('lpmr');
    await runGrants(capture);
    await runGrants(writer, (statement) => statement.includes('BINLOG REPLAY'));
    const pipeline = await startPipeline(config, logger, { api: false });
    cleanups.push(() => pipeline.stop());
    const failed = () => pipeline.workers().find((w) => w.state === 'failed');
    await waitFor('the apply worker to fail', () => failed() !== undefined, { timeoutMs: 120_000 });
    assert.match(
      failed()?.lastError ?? '',
      new RegExp(`fix: GRANT BINLOG REPLAY ON \\*\\.\\* TO '${writer.user}'@'%'`),
    );
    assert.equal(failed()?.deadLetters, 0);
    assert.equal(failed()?.eventsApplied, 0);
  });

  void test('a capture user without REPLICATION SLAVE is refused at start-up, naming it', async () => {
    const { config, capture, writer } = await setUp('lpmc');
    await runGrants(capture, (statement) => statement.includes('REPLICATION SLAVE'));
    await runGrants(writer);
    const pipeline = await startPipeline(config, logger, { api: false });
    cleanups.push(() => pipeline.stop());
    await waitFor('the connector to fail', () => pipeline.connectors().some((c) => c.state === 'failed'), {
      timeoutMs: 60_000,
    });
    assert.match(
      pipeline.connectors()[0]?.lastError ?? '',
      new RegExp(`lacks REPLICATION SLAVE.*GRANT REPLICATION SLAVE ON \\*\\.\\* TO '${capture.user}'@'%'`),
    );
  });
});
