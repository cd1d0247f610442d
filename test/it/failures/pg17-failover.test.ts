/**
 * Failure scenario: the source's primary crashes mid-workload and its physical standby is promoted
 * (PostgreSQL 17, `sources[].failover`). The capture's slot is a failover slot that the standby keeps a
 * synchronized copy of; capture, having lost its connection, finds the promoted standby is the primary now and
 * goes on from its copy of the slot, while the writer goes on writing there. Afterwards a user's checks: every
 * transaction the writer saw committed is in the replica, the replica equals the new primary, and the
 * changelog holds every inserted row exactly once (the copy of the slot may be behind what was published: the
 * capture drops what Kafka already holds).
 *
 * The pair runs on the npm build of PostgreSQL 17 (.tools/postgres-17, from stack/install.sh); the replica and
 * Kafka are the stack's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { positionProblems, readChangelog } from '../../support/changelog.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { startPostgresPair, type PostgresPair } from '../../support/postgres-standby.ts';
import { dropPipelineState } from '../../support/scenario.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const DATABASE = 'shop';
const SLOT = 'cdc_failover';
/** Transactions the writer commits on the promoted standby before the checks. */
const AFTER_FAILOVER = 150;
const RETAIN_WARN_BYTES = 32 * 1024 * 1024;

/** Writes small transactions to whichever server is the primary; knows what was acknowledged. */
class Writer {
  readonly committed = new Set<number>();
  /** Ids of the transaction in flight when the primary died: committed or not, the new primary says. */
  readonly inDoubt = new Set<number>();
  committedAfterFailover = 0;
  failedOver = false;
  #nextId = 1_000;
  readonly #urls: readonly string[];

  constructor(urls: readonly string[]) {
    this.#urls = urls;
  }

  async run(signal: AbortSignal): Promise<void> {
    let client = await this.#connect();
    while (!signal.aborted) {
      const ids = [this.#nextId, this.#nextId + 1];
      this.#nextId += 2;
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO items (id, note, n) VALUES ($1, 'w', 0), ($2, 'w', 0)`, ids);
        await client.query('UPDATE items SET n = n + 1 WHERE id = $1', [ids[0]! - 2 * (ids[0]! % 7)]);
        await client.query('COMMIT');
        for (const id of ids) this.committed.add(id);
        if (this.failedOver) this.committedAfterFailover++;
      } catch {
        // The primary is gone: this transaction may or may not have committed there.
        for (const id of ids) this.inDoubt.add(id);
        await client.end().catch(() => undefined);
        client = await waitFor('a primary to write to', () => this.#connect().catch(() => null), {
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        this.failedOver = true;
      }
    }
    await client.end();
  }

  /** The first server that accepts writes. */
  async #connect(): Promise<pg.Client> {
    for (const url of this.#urls) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
      // A connection ended by the crash also fails its next query, which run() handles; this event would
      // otherwise end the test process.
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        if (rows[0]?.r === false) return client;
      } catch {
        // Not reachable: try the next one.
      }
      await client.end().catch(() => undefined);
    }
    throw new Error('no primary to write to');
  }
}

/** JSON text of values that may hold bigints, for messages. */
function asText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
}

async function rows(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ row: string }>('SELECT t::text AS row FROM items t ORDER BY id');
    return result.rows.map((row) => row.row);
  } finally {
    await client.end();
  }
}

async function replicaRows(replica: TestDatabase): Promise<string[] | null> {
  const exists = await replica.query<{ ok: string | null }>(`SELECT to_regclass('public.items') AS ok`);
  if (exists.rows[0]?.ok === null) return null;
  return (await replica.query<{ row: string }>('SELECT t::text AS row FROM items t ORDER BY id')).rows.map(
    (row) => row.row,
  );
}

test('the primary crashes mid-workload and its standby is promoted: capture goes on there from the synchronized failover slot, nothing lost, nothing twice', async (t) => {
  const name = uniqueName('pgfail').replaceAll('_', '-');
  const sourceName = uniqueName('src');
  let pair: PostgresPair | null = null;
  let replica: TestDatabase | null = null;
  let pipeline: RunningPipeline | null = null;
  const stopWriter = new AbortController();
  let writing: Promise<void> | null = null;
  try {
    pair = await startPostgresPair('cdc-pg17-', async (primary) => {
      await primary.query(`CREATE DATABASE ${DATABASE}`);
      await primary.query(
        `CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL, n int NOT NULL);
         INSERT INTO items SELECT g, 'seed', 0 FROM generate_series(1, 200) g`,
        [],
        DATABASE,
      );
    });
    const primaryUrl = pair.primary.url(DATABASE);
    const standbyUrl = pair.standbyUrl(DATABASE);
    replica = await createDatabase('pgfail_dst');
    const config = parseConfig(
      JSON.stringify({
        name,
        logLevel: 'info',
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
        sources: [
          {
            name: sourceName,
            kind: 'postgres',
            url: primaryUrl,
            slot: SLOT,
            heartbeatIntervalMs: 500,
            // Above what the workload retains; the WAL written at the end, with capture paused, goes past it.
            warnRetainedWalBytes: RETAIN_WARN_BYTES,
            failover: { candidates: [standbyUrl] },
          },
        ],
        replicas: [{ name: 'dst', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' }],
      }),
      'json',
      { origin: 'pg17-failover.test.ts' },
    );
    const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
    pipeline = await startPipeline(config, logger, { api: false });

    const writer = new Writer([primaryUrl, standbyUrl]);
    writing = writer.run(stopWriter.signal);
    const replicaCount = async () =>
      Number(
        (await replica!.query<{ n: string }>('SELECT count(*) AS n FROM items').catch(() => null))?.rows[0]
          ?.n ?? 0,
      );
    await waitFor(
      'the replica to hold the seed rows and 200 written ones',
      async () => (await replicaCount()) >= 400,
      {
        timeoutMs: 90_000,
        intervalMs: 100,
      },
    );
    await waitFor(
      'the standby to hold a synchronized, persistent copy of the failover slot',
      async () => {
        const client = new pg.Client({ connectionString: standbyUrl });
        await client.connect();
        try {
          const { rows: slots } = await client.query<{ ok: boolean }>(
            'SELECT failover AND synced AND NOT temporary AS ok FROM pg_replication_slots WHERE slot_name = $1',
            [SLOT],
          );
          return slots[0]?.ok === true;
        } finally {
          await client.end();
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const before = pipeline.connectors()[0];
    assert.deepEqual(before?.warnings ?? [], [], 'no warning about the failover set-up while it is complete');
    const label = (url: string) => new URL(url).host + new URL(url).pathname;
    assert.deepEqual(before?.server, {
      current: label(primaryUrl),
      candidates: [primaryUrl, standbyUrl].map(label),
    });

    // Mid-workload: the writer is committing; the capture is streaming.
    const atCrash = writer.committed.size;
    await pair.crashPrimary();
    await pair.promoteStandby();
    t.diagnostic(`primary crashed after ${atCrash} acknowledged rows; standby promoted`);
    await waitFor(
      `the writer to commit ${AFTER_FAILOVER} transactions on the promoted standby`,
      () => writer.committedAfterFailover >= AFTER_FAILOVER,
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    stopWriter.abort();
    await writing;
    writing = null;

    const source = await rows(standbyUrl);
    const sourceIds = new Set(source.map((row) => Number(/^\((\d+),/.exec(row)![1])));
    for (const id of writer.committed)
      assert.ok(sourceIds.has(id), `row ${id}, acknowledged to the writer, is on the new primary`);
    await waitFor(
      'the replica to equal the new primary',
      async () => JSON.stringify(await replicaRows(replica!)) === JSON.stringify(source),
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch(async (error: unknown) => {
      const held = (await replicaRows(replica!)) ?? [];
      const missing = source.filter((row) => !held.includes(row)).slice(0, 5);
      const extra = held.filter((row) => !source.includes(row)).slice(0, 5);
      // Whether capture or apply lost them, for a failure seen only on a loaded machine: what the changelog
      // holds of the missing rows, and what capture and apply report.
      const ids = new Set(missing.map((row) => Number(/^\((\d+),/.exec(row)![1])));
      const logged = (await readChangelog(name, connectorTopics(name, sourceName).changelog))
        .filter(
          ({ event }) =>
            event.table.table === 'items' && ids.has(Number((event.after ?? event.before)?.['id'])),
        )
        .map(
          ({ event, offset }) =>
            `${event.op} ${asText(event.after)} @${offset} ${formatPosition(event.source.position)}`,
        );
      const state = { connector: pipeline!.connectors()[0], worker: pipeline!.workers()[0] };
      throw new Error(
        `${String(error)}; missing ${JSON.stringify(missing)}; extra ${JSON.stringify(extra)}; in the changelog: ${JSON.stringify(logged)}; ${asText(state)}`,
      );
    });

    const changelog = await readChangelog(name, connectorTopics(name, sourceName).changelog);
    assert.deepEqual(positionProblems(changelog), [], 'changelog positions strictly increase (no duplicate)');
    // Inserts by id; a snapshot read ('r') of a row also inserted while the initial snapshot ran is a read,
    // not a second insert, so it only counts for presence.
    const inserted = new Map<number, number>();
    const read = new Set<number>();
    for (const { event } of changelog) {
      if (event.table.table !== 'items') continue;
      const id = Number(event.after?.['id']);
      if (event.op === 'c') inserted.set(id, (inserted.get(id) ?? 0) + 1);
      else if (event.op === 'r') read.add(id);
    }
    const twice = [...inserted].filter(([, count]) => count > 1).map(([id]) => id);
    assert.deepEqual(twice.slice(0, 10), [], 'no row is inserted in the changelog twice');
    for (const id of read) if (!inserted.has(id)) inserted.set(id, 1);
    const lost = [...sourceIds].filter((id) => !inserted.has(id));
    assert.deepEqual(lost.slice(0, 10), [], 'every row of the new primary is in the changelog');
    const phantom = [...inserted.keys()].filter((id) => !sourceIds.has(id));
    assert.deepEqual(phantom, [], 'the changelog holds no row the new primary does not have');
    t.diagnostic(
      `${writer.committed.size} rows acknowledged, ${writer.inDoubt.size} in doubt at the crash, ${changelog.length} changelog events`,
    );

    const status = pipeline.connectors()[0];
    assert.notEqual(status?.state, 'failed', `capture went on: ${status?.lastError ?? ''}`);
    assert.equal(pipeline.workers()[0]?.deadLetters, 0, 'no event was dead-lettered');

    // Operations follow the promoted server: /status names it, the slot-health sampler samples the slot there
    // (the old primary is down: only the new one can show WAL retained with capture paused), and the failover
    // set-up is checked again beside the capture, so a setting fixed there clears its warning without a restart.
    const running = pipeline;
    assert.equal(running.connectors()[0]?.server?.current, label(standbyUrl));
    const warnings = () => running.connectors()[0]?.warnings ?? [];
    assert.ok(
      warnings().some((w) => w.includes(`primary ${label(standbyUrl)} has no synchronized_standby_slots`)),
      `the promoted server's missing synchronized_standby_slots is warned of: ${JSON.stringify(warnings())}`,
    );
    await running.setPaused!('connector', sourceName, true);
    const admin = new pg.Client({ connectionString: pair.standbyUrl('postgres') });
    await admin.connect();
    try {
      await admin.query(
        `SELECT pg_logical_emit_message(false, 'fill', repeat('x', 1024 * 1024)) FROM generate_series(1, 40)`,
      );
      await waitFor('the slot on the promoted server to be warned of as retaining too much WAL', () =>
        warnings().some((w) => new RegExp(`^slot ${SLOT} retains \\d+ bytes of WAL`).test(w)),
      );
      // A physical slot for a standby-to-be, named as the one the capture may not be ahead of.
      await admin.query(`SELECT pg_create_physical_replication_slot('next_standby', true)`);
      await admin.query(`ALTER SYSTEM SET synchronized_standby_slots = 'next_standby'`);
      await admin.query('SELECT pg_reload_conf()');
      await waitFor('the synchronized_standby_slots warning to clear without a restart', () =>
        warnings().every((w) => !w.includes('synchronized_standby_slots')),
      );
    } finally {
      await admin.end();
    }
  } finally {
    stopWriter.abort();
    await writing?.catch(() => undefined);
    await pipeline?.stop();
    await pair?.stop();
    await replica?.drop();
    await dropPipelineState(name, sourceName, 'dst');
  }
});
