/**
 * A PostgreSQL → PostgreSQL pipeline run by roles that hold only what `cdc grants` gives them: a capture role
 * with REPLICATION and SELECT reading a publication the administrator created, and a replica writer that is
 * no superuser. After the snapshot and streamed changes the replica equals the source, and each role
 * missing a grant is refused at start-up with an error that names the privilege and the GRANT fixing it.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { collectSecrets } from '../../../services/config/redact.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { grantBlocks, type GrantBlock } from '../../../services/privileges/grants.ts';
import { adminQuery, createDatabase, dropOriginsOf, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName, withDatabase } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

/** A login role that is neither superuser nor anything else until grants say so. */
async function createRole(prefix: string): Promise<string> {
  const role = uniqueName(prefix);
  await adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD 'secret-${role}'`);
  cleanups.push(async () => {
    await adminQuery(`DROP ROLE IF EXISTS ${role}`);
  });
  return role;
}

function asRole(db: TestDatabase, role: string): string {
  const url = new URL(db.url);
  url.username = role;
  url.password = `secret-${role}`;
  return url.toString();
}

/** Runs a block's statements as the administrator, in the database its user connects to. */
async function runGrants(
  block: GrantBlock,
  database: string,
  skip: (statement: string) => boolean = () => false,
) {
  const client = new pg.Client({ connectionString: withDatabase(stack.pgAdminUrl, database) });
  await client.connect();
  try {
    for (const statement of block.statements) if (!skip(statement)) await client.query(statement);
  } finally {
    await client.end();
  }
}

interface Setup {
  readonly source: TestDatabase;
  readonly replica: TestDatabase;
  readonly config: PipelineConfig;
  readonly capture: GrantBlock;
  readonly writer: GrantBlock;
}

async function setUp(name: string): Promise<Setup> {
  const source = await createDatabase('lp_src');
  cleanups.push(() => source.drop());
  const replica = await createDatabase('lp_dst');
  cleanups.push(() => replica.drop());
  const sourceName = uniqueName(name).replaceAll('_', '-');
  cleanups.push(() => dropOriginsOf(sourceName));
  await source.query('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty int)');
  await source.query(`INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g`);
  const captureRole = await createRole('lp_capture');
  const writerRole = await createRole('lp_writer');
  const config = parseConfig(
    JSON.stringify({
      name: sourceName,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: sourceName },
      sources: [
        {
          name: sourceName,
          kind: 'postgres',
          url: asRole(source, captureRole),
          slot: uniqueName('slot'),
          createPublication: false,
          snapshotChunkRows: 100,
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [
        {
          name: 'copy',
          source: sourceName,
          kind: 'postgres',
          url: asRole(replica, writerRole),
          onError: 'stop',
        },
      ],
    }),
    'json',
  );
  const [capture, writer] = grantBlocks(config);
  assert.ok(capture !== undefined && writer !== undefined);
  return { source, replica, config, capture, writer };
}

const rowsOf = async (db: TestDatabase) =>
  JSON.stringify((await db.query('SELECT id::text, name, qty::text FROM public.items ORDER BY id')).rows);

void describe('PostgreSQL roles with the grants of cdc grants', () => {
  void test('capture and apply as those roles: the replica equals the source', async () => {
    const { source, replica, config, capture, writer } = await setUp('lp');
    await runGrants(capture, source.name);
    await runGrants(writer, replica.name);
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
        const state = pipeline.workers().map((w) => `${w.name} ${w.state} ${w.lastError ?? ''}`);
        assert.fail(`${when}: the replica holds ${seen.slice(0, 200)}; workers: ${state.join('; ')}`);
      });
    };
    await equal('after the snapshot');
    for (let round = 0; round < 10; round++) {
      await source.query(`INSERT INTO items VALUES (${1000 + round}, 'new ${round}', ${round})`);
      await source.query(`UPDATE items SET qty = qty + 1 WHERE id % 10 = ${round}`);
      await source.query(`DELETE FROM items WHERE id = ${round * 7 + 1}`);
    }
    await equal('after streaming');
    const superusers = await adminQuery(`SELECT rolname FROM pg_roles WHERE rolsuper AND rolname = ANY($1)`, [
      [capture.user, writer.user],
    ]);
    assert.equal(superusers.rowCount, 0, 'neither role is a superuser');
    for (const worker of pipeline.workers()) assert.equal(worker.state, 'running', worker.lastError ?? '');
  });

  void test('a writer without EXECUTE on the origin functions stops naming the GRANT, dead-lettering nothing', async () => {
    const { source, replica, config, capture, writer } = await setUp('lpo');
    await runGrants(capture, source.name);
    await runGrants(writer, replica.name, (statement) => statement.startsWith('GRANT EXECUTE'));
    // Logged as `cdc run` logs, at debug, with the configuration's secrets: the failed run's lines are read back.
    const lines: string[] = [];
    const runLogger = createLogger({
      level: 'debug',
      secrets: collectSecrets(config),
      destination: { write: (line: string) => lines.push(line) },
    });
    const pipeline = await startPipeline(config, runLogger, { api: false });
    cleanups.push(() => pipeline.stop());
    const failed = () => pipeline.workers().find((w) => w.state === 'failed');
    await waitFor('the apply worker to fail', () => failed() !== undefined, { timeoutMs: 120_000 });
    const worker = failed()!;
    assert.ok(lines.join('').includes('TARGET_PRIVILEGE'), 'the failure is in the log');
    for (const role of [capture.user, writer.user])
      assert.ok(!lines.join('').includes(`secret-${role}`), `the password of ${role} is in no log line`);
    assert.match(
      worker.lastError ?? '',
      new RegExp(
        `permission denied for function pg_replication_origin_\\w+; fix: GRANT EXECUTE ON FUNCTION pg_replication_origin_create\\(text\\), .* TO "${writer.user}"`,
      ),
    );
    assert.equal(worker.deadLetters, 0, 'a missing privilege is no event to dead-letter');
    assert.equal(worker.eventsApplied, 0);
  });

  void test('capture without SELECT on a captured table is refused, naming the GRANT', async () => {
    const { source, replica, config, capture, writer } = await setUp('lps');
    await runGrants(capture, source.name, (statement) => / SELECT ON /.test(statement));
    await runGrants(writer, replica.name);
    const pipeline = await startPipeline(config, logger, { api: false });
    cleanups.push(() => pipeline.stop());
    await waitFor('the connector to fail', () => pipeline.connectors().some((c) => c.state === 'failed'), {
      timeoutMs: 60_000,
    });
    assert.match(
      pipeline.connectors()[0]?.lastError ?? '',
      new RegExp(`lacks SELECT on public.items: GRANT SELECT ON public.items TO "?${capture.user}"?$`),
    );
  });

  void test('a writer without CREATE on its database stops naming the GRANT', async () => {
    const { source, replica, config, capture, writer } = await setUp('lpd');
    await runGrants(capture, source.name);
    await runGrants(writer, replica.name, (statement) => statement.includes('ON DATABASE'));
    const pipeline = await startPipeline(config, logger, { api: false });
    cleanups.push(() => pipeline.stop());
    const failed = () => pipeline.workers().find((w) => w.state === 'failed');
    await waitFor('the apply worker to fail', () => failed() !== undefined, { timeoutMs: 120_000 });
    assert.match(
      failed()?.lastError ?? '',
      new RegExp(
        `permission denied for database ${replica.name}; fix: GRANT CONNECT, CREATE ON DATABASE "${replica.name}" TO "${writer.user}"`,
      ),
    );
    assert.equal(failed()?.deadLetters, 0);
  });
});
