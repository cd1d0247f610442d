/**
 * Failure scenario on PostgreSQL 15: the slot is lost while capture is down (dropped, standing in for a failover
 * to a server without it; or invalidated by max_slot_wal_keep_size), and rows were inserted, updated and deleted
 * meanwhile. The re-snapshot must bring the replica back equal to the source, the rows deleted while the slot
 * was lost included, while writes made during and after it arrive exactly once:
 * - `onSlotLost: stop` (default): capture stops with SLOT_INVALID saying a re-snapshot is needed, `/status`
 *   shows it, and the admin action (POST /connectors/:name/resnapshot) takes it;
 * - `onSlotLost: resnapshot`: capture takes it by itself on start.
 * The same admin action on a healthy capture (a replica to rebuild) goes the same way, its slot replaced.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { ConnectorStatus } from '../../../services/api/status-types.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { readChangelog, positionProblems } from '../../support/changelog.ts';
import { adminQuery, createDatabase, tableContent, type TestDatabase } from '../../support/pg.ts';
import { dropPipelineState } from '../../support/scenario.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres.ts';

type Mode = 'stop' | 'resnapshot';

test('slot dropped while capture was down, onSlotLost: stop: capture says a re-snapshot is needed, the admin action takes it, the replica ends equal', async () => {
  await slotLostScenario('stop', createDatabase, dropSlot);
});

test('slot dropped while capture was down, onSlotLost: resnapshot: capture re-snapshots by itself, the replica ends equal', async () => {
  await slotLostScenario('resnapshot', createDatabase, dropSlot);
});

test('slot invalidated (wal_status = lost, max_slot_wal_keep_size) while capture was down, onSlotLost: stop: the admin action drops it and re-snapshots', async () => {
  // A cluster of the test's own: the setting is server-wide, and the WAL switches and checkpoints are too.
  const cluster = await startThrowawayPostgres({
    prefix: 'cdc-slotlost',
    settings: 'max_slot_wal_keep_size = 1MB\nwal_keep_size = 0',
  });
  try {
    await slotLostScenario(
      'stop',
      (prefix) => clusterDatabase(cluster, prefix),
      (slot, source) => invalidateSlot(cluster, slot, source),
    );
  } finally {
    await cluster.stop();
  }
});

test('the admin action on a healthy capture replaces its slot and re-copies every table, nothing lost or doubled', async () => {
  await slotLostScenario('stop', createDatabase, null);
});

test('slot dropped under a running capture, onSlotLost: resnapshot: the reconnect finds it lost and re-snapshots', async () => {
  await slotLostScenario('resnapshot', createDatabase, dropLiveSlot, true);
});

/** Ends the walsender and drops the slot before capture reconnects to it (retried until the drop wins). */
async function dropLiveSlot(slot: string): Promise<void> {
  await waitFor(
    'the slot to be dropped under the running capture',
    async () => {
      await adminQuery(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [slot],
      );
      try {
        await adminQuery('SELECT pg_drop_replication_slot($1)', [slot]);
        return true;
      } catch {
        // Capture reconnected first: end its walsender again.
        return false;
      }
    },
    { intervalMs: 10 },
  );
}

async function dropSlot(slot: string): Promise<void> {
  await waitFor('the old walsender to release the slot', async () => {
    const active = await adminQuery('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [
      slot,
    ]);
    return active.rowCount === 0;
  });
  await adminQuery('SELECT pg_drop_replication_slot($1)', [slot]);
}

/** Writes and switches WAL segments until a checkpoint removes what the inactive slot needs. */
async function invalidateSlot(cluster: ThrowawayPostgres, slot: string, source: TestDatabase): Promise<void> {
  const slotRow = async (): Promise<{ active: string; wal_status: string | null } | undefined> =>
    (
      await cluster.query('SELECT active::text, wal_status FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ])
    ).rows[0] as { active: string; wal_status: string | null } | undefined;
  await waitFor('the old walsender to release the slot', async () => (await slotRow())?.active === 'false');
  await waitFor(
    'the slot to be invalidated',
    async () => {
      await source.query(`INSERT INTO tags VALUES ('wal', 0); DELETE FROM tags WHERE label = 'wal'`);
      await cluster.query('SELECT pg_switch_wal()');
      await cluster.query('CHECKPOINT');
      return (await slotRow())?.wal_status === 'lost';
    },
    { timeoutMs: 30_000 },
  );
}

/** A database on the throwaway cluster, as test/support/pg.ts makes them on the stack's. */
async function clusterDatabase(cluster: ThrowawayPostgres, prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await cluster.query(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: cluster.url(name),
    query: (sql, params) => cluster.query(sql, params, name) as never,
    async drop() {
      // Its slots first, or DROP DATABASE refuses (the pipeline stopped; a walsender may linger a moment).
      await cluster.query(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active',
        [name],
      );
      await waitFor(`the slots of ${name} to be dropped`, async () => {
        await cluster.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
          [name],
        );
        return (
          (await cluster.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [name])).rowCount ===
          0
        );
      });
      await cluster.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function slotLostScenario(
  mode: Mode,
  createSource: (prefix: string) => Promise<TestDatabase>,
  /** null: the slot stays (the re-snapshot is asked of a healthy capture). */
  loseSlot: ((slot: string, source: TestDatabase) => Promise<void>) | null,
  /** The slot is lost while capture runs (found on its reconnect), not while it is down. */
  live = false,
): Promise<void> {
  const name = uniqueName('resnap').replaceAll('_', '-');
  const sourceName = uniqueName('src');
  const slot = uniqueName('slot');
  let source: TestDatabase | null = null;
  let replica: TestDatabase | null = null;
  // Capture restarts; apply runs throughout, in a pipeline of its own.
  let pipeline: RunningPipeline | null = null;
  let apply: RunningPipeline | null = null;
  try {
    source = await createSource('resnap_src');
    replica = await createDatabase('resnap_dst');
    await source.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, note text, n int NOT NULL DEFAULT 0);
      CREATE TABLE tags (label text, n int);
      ALTER TABLE tags REPLICA IDENTITY FULL;
      INSERT INTO items (id, note) SELECT g, 'seed' FROM generate_series(1, 300) g;
      INSERT INTO tags SELECT 'tag-' || g, g FROM generate_series(1, 5) g;
    `);
    const config = parseConfig(
      JSON.stringify({
        name,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
        sources: [
          {
            name: sourceName,
            kind: 'postgres',
            url: source.url,
            slot,
            heartbeatIntervalMs: 500,
            // Several chunks per table: only the first of each truncates the replica's copy.
            snapshotChunkRows: 40,
            onSlotLost: mode,
          },
        ],
        replicas: [{ name: 'dst', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' }],
        api: { port: 0 },
      }),
      'json',
      { origin: 'pg-slot-lost-resnapshot.test.ts' },
    );
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    const status = (): ConnectorStatus | undefined => pipeline?.connectors()[0];

    apply = await startPipeline(config, logger, { roles: ['apply'], api: false });
    pipeline = await startPipeline(config, logger, { roles: ['capture'] });
    await source.query(`INSERT INTO items (id, note) VALUES (301, 'streamed')`);
    await waitFor('the replica to hold the snapshot and the streamed row', async () => {
      const rows = await replica!.query(`SELECT count(*)::int AS n FROM items`).catch(() => null);
      return Number(rows?.rows[0]?.n ?? 0) === 301 && status()?.lagBytes === 0;
    });
    if (live) await loseSlot?.(slot, source);
    else {
      await pipeline.stop();
      pipeline = null;
    }

    // While capture is down (or the slot gone): changes the new slot will never see, a delete among them.
    await source.query(`
      INSERT INTO items (id, note) SELECT g, 'while lost' FROM generate_series(302, 310) g;
      UPDATE items SET note = 'updated while lost', n = n + 1 WHERE id <= 10;
      DELETE FROM items WHERE id BETWEEN 11 AND 30;
      DELETE FROM tags WHERE n = 1;
      INSERT INTO tags VALUES ('tag-lost', 6);
    `);
    if (!live) {
      await loseSlot?.(slot, source);
      pipeline = await startPipeline(config, logger, { roles: ['capture'] });
    }
    const apiUrl = pipeline?.apiUrl ?? '';
    if (mode === 'stop' && loseSlot !== null) {
      const failed = await waitFor('capture to stop on the lost slot', () =>
        status()?.state === 'failed' ? status() : null,
      );
      assert.match(
        failed.lastError ?? '',
        new RegExp(`replication slot "${slot}" (does not exist|was invalidated \\(wal_status = lost\\))`),
      );
      assert.match(failed.lastError ?? '', /changes between the last published position .* and now are lost/);
      assert.equal((failed.lastError ?? '').split('a re-snapshot is needed').length, 2, 'said once');
      assert.match(failed.lastError ?? '', new RegExp(`POST /connectors/${sourceName}/resnapshot`));
      assert.match(failed.lastError ?? '', /onSlotLost: "resnapshot"/);
      const shown = (await (await fetch(`${apiUrl}/status`)).json()) as {
        connectors: ConnectorStatus[];
      };
      assert.equal(shown.connectors[0]?.resnapshot?.state, 'needed', '/status says a re-snapshot is needed');
      const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
      assert.match(metrics, /cdc_capture_resnapshot\{[^}]*state="needed"[^}]*\} 1/, 'and the metrics');
      const lost = await source.query<{ wal_status: string }>(
        'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      assert.ok(
        lost.rows.every((row) => row.wal_status === 'lost'),
        'no slot was created silently',
      );
    }

    // Writes alongside the re-snapshot and after it: each must arrive exactly once.
    const writer = startWriter(source);
    if (mode === 'stop') {
      const answer = await fetch(`${apiUrl}/connectors/${sourceName}/resnapshot`, { method: 'POST' });
      assert.equal(answer.status, 202, await answer.clone().text());
    }
    await waitFor(
      'the re-snapshot to finish',
      () => {
        const now = status();
        if (now?.state === 'failed') throw new Error(`capture failed: ${now.lastError ?? ''}`);
        return now?.state === 'streaming' && now.resnapshot === undefined && now.snapshot?.done === true;
      },
      { timeoutMs: 60_000 },
    );
    const after = await writer.writeAfter(5);
    const written = await writer.stop();

    // Verify compares keyed tables (in key ranges); the keyless one is compared whole below.
    await waitFor(
      'verify to find the replica equal to the source',
      async () => (await apply!.verify!({ replica: 'dst', tables: ['public.items'] })).equal,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const table of ['items', 'tags']) {
      assert.deepEqual(
        await tableContent(replica, table, 't::text'),
        await tableContent(source, table, 't::text'),
        `${table}: replica equals source`,
      );
    }
    const deleted = await replica.query(`SELECT id FROM items WHERE id BETWEEN 11 AND 30`);
    assert.equal(deleted.rowCount, 0, 'rows deleted while the slot was lost are gone from the replica');

    const events = await readChangelog(name, connectorTopics(name, sourceName).changelog);
    assert.deepEqual(positionProblems(events), [], 'no changelog position repeats or goes back');
    const truncates = events.filter(({ event }) => event.op === 't' && event.table.table === 'items');
    assert.ok(truncates.length >= 1, "the re-snapshot replaced the replica's copy of the keyed table");
    // A row inserted before the new slot existed reaches the replica through the re-snapshot only; one inserted
    // after it through the stream, once. The keyless table's equality above shows no row was applied twice.
    const inserts = (id: number): number =>
      events.filter(
        ({ event }) =>
          event.op === 'c' && event.table.table === 'items' && String(event.after.id) === String(id),
      ).length;
    for (const id of written)
      assert.ok(inserts(id) <= 1, `the insert of item ${id} is published at most once`);
    for (const id of after)
      assert.equal(inserts(id), 1, `the insert of item ${id} is published exactly once`);
    assert.ok(
      written.filter((id) => inserts(id) === 1).length > after.length,
      'some writes made during the re-snapshot went through the stream',
    );
    const slots = await source.query<{ wal_status: string }>(
      'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    assert.equal(slots.rows.length, 1, 'capture streams from a new slot');
    assert.notEqual(slots.rows[0]?.wal_status, 'lost', 'the new slot is valid');
  } finally {
    await pipeline?.stop();
    await apply?.stop();
    await source?.drop();
    await replica?.drop();
    await dropPipelineState(name, sourceName, 'dst');
  }
}

/**
 * Inserts, updates and deletes on both tables in a loop until stopped; returns the ids it inserted into items.
 */
function startWriter(source: TestDatabase): {
  /** Stops the loop, then writes `count` more times; returns the ids those inserted. */
  writeAfter(count: number): Promise<number[]>;
  stop(): Promise<number[]>;
} {
  const inserted: number[] = [];
  let stopped = false;
  let next = 1000;
  const once = async (): Promise<void> => {
    const id = next++;
    await source.query(`
      BEGIN;
      INSERT INTO items (id, note) VALUES (${id}, 'during');
      UPDATE items SET n = n + 1 WHERE id = ${(id % 280) + 31};
      DELETE FROM items WHERE id = ${id - 3} AND ${id % 2} = 0;
      INSERT INTO tags VALUES ('w-${id}', ${id});
      DELETE FROM tags WHERE n = ${id - 2};
      COMMIT;
    `);
    inserted.push(id);
  };
  const running = (async () => {
    while (!stopped) await once();
  })();
  return {
    async writeAfter(count) {
      stopped = true;
      await running;
      const from = inserted.length;
      for (let i = 0; i < count; i++) await once();
      return inserted.slice(from);
    },
    async stop() {
      stopped = true;
      await running;
      return inserted;
    },
  };
}
