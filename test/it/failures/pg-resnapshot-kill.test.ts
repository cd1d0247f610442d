/**
 * Failure scenario on PostgreSQL 15: the capture process (`cdc run --role capture`) is killed with SIGKILL in the
 * middle of a re-snapshot after a lost slot. The next start must finish the re-snapshot from its saved progress
 * on the new slot, without taking that slot for a lost one (no second re-snapshot), and the replica must end equal
 * to the source, the rows deleted while the slot was lost included.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import type { ConnectorStatus } from '../../../services/api/status-types.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { apiUrlOf, logLines, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { adminQuery, createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { dropPipelineState } from '../../support/scenario.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

test('SIGKILL of capture in the middle of a re-snapshot after a lost slot: the restart finishes it on the new slot, the replica ends equal', async (t) => {
  const name = uniqueName('resnapkill').replaceAll('_', '-');
  const sourceName = uniqueName('src');
  const slot = uniqueName('slot');
  const configPath = join(tmpdir(), `${name}.json`);
  let source: TestDatabase | null = null;
  let replica: TestDatabase | null = null;
  let apply: RunningPipeline | null = null;
  let capture: CliProcess | null = null;
  try {
    source = await createDatabase('resnapkill_src');
    replica = await createDatabase('resnapkill_dst');
    await source.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, note text, n int NOT NULL DEFAULT 0);
      CREATE TABLE tags (label text, n int);
      ALTER TABLE tags REPLICA IDENTITY FULL;
      INSERT INTO items (id, note) SELECT g, 'seed' FROM generate_series(1, 600) g;
      INSERT INTO tags SELECT 'tag-' || g, g FROM generate_series(1, 5) g;
    `);
    const configText = JSON.stringify({
      name,
      logLevel: 'info',
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6_000 },
      sources: [
        {
          name: sourceName,
          kind: 'postgres',
          url: source.url,
          slot,
          heartbeatIntervalMs: 500,
          // Small chunks: the re-snapshot takes long enough to be killed in its middle.
          snapshotChunkRows: 5,
          onSlotLost: 'resnapshot',
        },
      ],
      replicas: [{ name: 'dst', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' }],
      api: { port: 0 },
    });
    await writeFile(configPath, configText);
    const config = parseConfig(configText, 'json', { origin: configPath });
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    const startCapture = (): CliProcess => startCli(['run', '--config', configPath, '--role', 'capture']);
    const statusOf = async (apiUrl: string): Promise<ConnectorStatus | undefined> => {
      const body = (await (await fetch(`${apiUrl}/status`)).json()) as { connectors: ConnectorStatus[] };
      return body.connectors[0];
    };
    const count = async (db: TestDatabase): Promise<number> =>
      Number((await db.query(`SELECT count(*)::int AS n FROM items`).catch(() => null))?.rows[0]?.n ?? -1);

    apply = await startPipeline(config, logger, { roles: ['apply'], api: false });
    capture = startCapture();
    await whileAlive(
      capture,
      'capture during the first snapshot',
      waitFor('the replica to hold the snapshot', async () => (await count(replica!)) === 600, {
        timeoutMs: 60_000,
      }),
    );
    await capture.kill('SIGKILL');

    await source.query(`
      INSERT INTO items (id, note) SELECT g, 'while lost' FROM generate_series(601, 610) g;
      UPDATE items SET note = 'updated while lost', n = n + 1 WHERE id <= 10;
      DELETE FROM items WHERE id BETWEEN 11 AND 30;
      DELETE FROM tags WHERE n = 1;
      INSERT INTO tags VALUES ('tag-lost', 6);
    `);
    await waitFor('the killed walsender to release the slot', async () => {
      const active = await adminQuery('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [
        slot,
      ]);
      return active.rowCount === 0;
    });
    await adminQuery('SELECT pg_drop_replication_slot($1)', [slot]);

    capture = startCapture();
    const firstApi = await apiUrlOf(capture);
    const midway = await whileAlive(
      capture,
      'capture during the re-snapshot',
      waitFor(
        'the re-snapshot to be part-way',
        async () => {
          const now = await statusOf(firstApi);
          const snapshot = now?.snapshot;
          if (now?.resnapshot?.state !== 'running' || !snapshot || snapshot.done) return null;
          return snapshot.rowsDone >= 100 ? snapshot : null;
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      ),
    );
    await source.query(
      `UPDATE items SET note = 'during' WHERE id IN (5, 300, 590); DELETE FROM items WHERE id = 400`,
    );
    await capture.kill('SIGKILL');
    t.diagnostic(`killed with ${midway.rowsDone} rows re-copied`);

    capture = startCapture();
    const secondApi = await apiUrlOf(capture);
    await source.query(
      `INSERT INTO items (id, note) VALUES (700, 'after the kill'); INSERT INTO tags VALUES ('t-700', 700)`,
    );
    const finished = await whileAlive(
      capture,
      'capture finishing the re-snapshot',
      waitFor(
        'the re-snapshot to finish',
        async () => {
          const now = await statusOf(secondApi);
          if (now?.state === 'failed') throw new Error(`capture failed: ${now.lastError ?? ''}`);
          return now?.state === 'streaming' && now.resnapshot === undefined && now.snapshot?.done === true
            ? now
            : null;
        },
        { timeoutMs: 60_000 },
      ),
    );
    assert.ok(
      (finished.snapshot?.rowsDone ?? 0) > midway.rowsDone,
      'the restart went on from the saved progress',
    );
    const lostAgain = logLines(capture.stdout()).filter((line) => String(line.msg).includes('slot lost'));
    assert.deepEqual(lostAgain, [], 'the restart did not take the new slot for a lost one');
    await source.query(`UPDATE items SET note = 'after' WHERE id = 700`);

    await waitFor(
      'verify to find the replica equal to the source',
      async () => (await apply!.verify!({ replica: 'dst', tables: ['public.items'] })).equal,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const table of ['items', 'tags']) {
      await waitFor(`${table}: replica equals source`, async () => {
        const [left, right] = [
          await tableContent(replica!, table, 't::text'),
          await tableContent(source!, table, 't::text'),
        ];
        return JSON.stringify(left) === JSON.stringify(right);
      });
    }
    const deleted = await replica.query(`SELECT id FROM items WHERE id BETWEEN 11 AND 30 OR id = 400`);
    assert.equal(
      deleted.rowCount,
      0,
      'rows deleted while the slot was lost, and during the re-snapshot, are gone',
    );
  } finally {
    await capture?.kill('SIGKILL');
    await apply?.stop();
    await rm(configPath, { force: true });
    await source?.drop();
    await replica?.drop();
    await dropPipelineState(name, sourceName, 'dst');
  }
});
