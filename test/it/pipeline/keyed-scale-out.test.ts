/**
 * Apply scale-out on a keyed changelog: a PostgreSQL source's changes go to a changelog of 4 partitions by
 * table and key, and two apply processes (`cdc run --role apply`) of one replica share the partitions. One is
 * killed with SIGKILL mid-stream; the other takes its partitions over.
 *
 * What a user checks afterwards: the replica equals the source; each counter's changes reached the replica in
 * order, each exactly once (a trigger on the replica logs every value a counter took: it must be 1, 2, ... n,
 * nothing missing, nothing twice, nothing out of order), and every partition received events.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { outputTail, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { createDatabase, dropOriginsOf, tableContent, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const PARTITIONS = 4;
const COUNTERS = 200;
const TRANSACTIONS = Number(process.env.CDC_TEST_KEYED_TRANSACTIONS ?? 600);

const SCHEMA = `
  CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL, touched_by text);
  CREATE TABLE items (id bigint PRIMARY KEY, counter_id int NOT NULL, label text NOT NULL);
  CREATE TABLE notes (body text NOT NULL);
  INSERT INTO counters SELECT g, 0, NULL FROM generate_series(1, ${COUNTERS}) g;
`;

/** Every value a replica counter takes, in the order the replica's transactions wrote them. */
const COUNTER_LOG = `
  CREATE TABLE counter_log (seq bigserial PRIMARY KEY, id int NOT NULL, n bigint NOT NULL);
  CREATE FUNCTION log_counter() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO counter_log (id, n) VALUES (NEW.id, NEW.n); RETURN NULL; END $$;
  CREATE TRIGGER log_counter AFTER UPDATE ON counters FOR EACH ROW EXECUTE FUNCTION log_counter();
  -- The apply session replicates with session_replication_role unchanged; an ALWAYS trigger fires regardless.
  ALTER TABLE counters ENABLE ALWAYS TRIGGER log_counter;
`;

/** Transactions over many keys: counters incremented (several per transaction), items added, moved, removed. */
async function workload(db: TestDatabase, transactions: number, seed: number, progress: (n: number) => void) {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  let nextItem = 1;
  for (let i = 0; i < transactions; i++) {
    const statements: string[] = [];
    for (let s = 0, size = 1 + pick(6); s < size; s++) {
      const counter = 1 + pick(COUNTERS);
      statements.push(`UPDATE counters SET n = n + 1, touched_by = 'tx${i}' WHERE id = ${counter}`);
      statements.push(`INSERT INTO items VALUES (${nextItem++}, ${counter}, 'item of tx${i}')`);
    }
    const roll = pick(10);
    if (roll === 0 && nextItem > 10)
      statements.push(`DELETE FROM items WHERE id = ${1 + pick(nextItem - 1)}`);
    // A key change moves the row between partitions.
    if (roll === 1 && nextItem > 10)
      statements.push(
        `UPDATE items SET id = id + 10000000 WHERE id = ${1 + pick(nextItem - 1)} AND id < 10000000`,
      );
    if (roll === 2) statements.push(`INSERT INTO notes VALUES ('note of tx${i}')`);
    await db.query(`BEGIN; ${statements.join(';\n')}; COMMIT;`);
    progress(i + 1);
  }
}

/** Members of a stable consumer group (0 while it rebalances). */
async function stableMembers(groupId: string): Promise<number> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-keyed' }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    return group?.state === 'Stable' ? group.members.length : 0;
  } finally {
    await admin.disconnect();
  }
}

async function partitionEnds(topic: string): Promise<bigint[]> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-keyed' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((entry) => BigInt(entry.high));
  } finally {
    await admin.disconnect();
  }
}

test('keyed changelog, two apply processes, one killed: per-key order, nothing lost, nothing twice, every partition used', async (t) => {
  const name = uniqueName('keyed').replaceAll('_', '-');
  const sourceName = uniqueName('ksrc');
  const source = await createDatabase('keyed_src');
  const replica = await createDatabase('keyed_dst');
  await source.query(SCHEMA);
  const configText = JSON.stringify({
    name,
    logLevel: process.env.CDC_TEST_LOG ?? 'info',
    kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6_000 },
    sources: [
      {
        name: sourceName,
        kind: 'postgres',
        url: source.url,
        slot: uniqueName('kslot'),
        heartbeatIntervalMs: 500,
        changelog: { mode: 'keyed', partitions: PARTITIONS },
      },
    ],
    replicas: [{ name: 'dst', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' }],
    api: { port: 0 },
  });
  const configPath = join(tmpdir(), `${name}.json`);
  await writeFile(configPath, configText);
  const config = parseConfig(configText, 'json', { origin: configPath });
  const topics = connectorTopics(name, sourceName);
  const groupId = `${name}.apply.dst`;
  const startApply = (): CliProcess => startCli(['run', '--config', configPath, '--role', 'apply']);
  let capture: RunningPipeline | null = null;
  const workers: CliProcess[] = [];
  try {
    capture = await startPipeline(config, createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }), {
      roles: ['capture'],
      api: false,
    });
    workers.push(startApply(), startApply());
    const [first, second] = workers as [CliProcess, CliProcess];
    const bothAlive = <T>(what: string, work: Promise<T>) =>
      whileAlive(first, what, whileAlive(second, what, work));
    // The snapshot of the seed counters, then the log of every value a replica counter takes.
    await bothAlive(
      'apply during the snapshot',
      waitFor(
        'the replica to hold the seed counters',
        async () => {
          const found = await replica.query(`SELECT count(*)::int AS n FROM counters`).catch(() => null);
          return Number(found?.rows[0]?.n ?? 0) === COUNTERS;
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      ),
    );
    await replica.query(COUNTER_LOG);
    await bothAlive(
      'apply while the group forms',
      waitFor(
        'both apply processes to share the partitions',
        async () => (await stableMembers(groupId)) === 2,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      ),
    );

    const seed = Date.now() % 100_000;
    t.diagnostic(`seed ${seed}`);
    let written = 0;
    const writes = workload(source, TRANSACTIONS, seed, (n) => {
      written = n;
    });
    // Mid-way: once the replica applied part of the workload, one worker is killed and the other takes over.
    const loggedCount = async (): Promise<number> =>
      Number((await replica.query(`SELECT count(*)::int AS n FROM counter_log`)).rows[0]?.n);
    await bothAlive(
      'apply before the kill',
      waitFor('the replica to apply part of the workload', async () => (await loggedCount()) >= 300, {
        timeoutMs: 120_000,
        intervalMs: 50,
      }),
    );
    const exit = await first.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    const loggedAtKill = await loggedCount();
    t.diagnostic(
      `one apply process killed at ${loggedAtKill} increments applied, ${written} of ${TRANSACTIONS} source transactions written`,
    );
    await writes;

    const expected = await source.query(`SELECT sum(n)::int AS n FROM counters`);
    const increments = Number(expected.rows[0]?.n);
    assert.ok(loggedAtKill < increments, 'the surviving worker had changes of the killed one left to apply');
    await whileAlive(
      second,
      'the surviving apply process',
      waitFor(
        `the replica to log all ${increments} counter increments`,
        async () => {
          const logged = await replica.query(`SELECT count(*)::int AS n FROM counter_log`);
          return Number(logged.rows[0]?.n) >= increments;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ),
    );
    // Items and notes can trail the counters' partitions: wait for them to be equal, then check all at once.
    for (const table of ['counters', 'items', 'notes']) {
      await whileAlive(
        second,
        `apply of ${table}`,
        waitFor(
          `the replica's ${table} to equal the source's`,
          async () => {
            const order = table === 'notes' ? 'body' : 'id';
            const [want, got] = await Promise.all([
              tableContent(source, table, order),
              tableContent(replica, table, order),
            ]);
            return JSON.stringify(want) === JSON.stringify(got);
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        ),
      );
    }

    // Per key: every value 1..n once, in order. A lost change leaves a gap, a twice-applied one a repeat, and a
    // change applied out of order a value that goes down.
    const log = await replica.query<{ id: string; values: string }>(
      `SELECT id, string_agg(n::text, ',' ORDER BY seq) AS values FROM counter_log GROUP BY id`,
    );
    const finals = await source.query<{ id: string; n: string }>(`SELECT id, n FROM counters WHERE n > 0`);
    const logged = new Map(log.rows.map((row) => [row.id, row.values]));
    for (const { id, n } of finals.rows) {
      const want = Array.from({ length: Number(n) }, (_, i) => String(i + 1)).join(',');
      assert.equal(logged.get(id), want, `the values counter ${id} took on the replica`);
    }
    assert.equal(
      logged.size,
      finals.rows.length,
      'no counter changed on the replica that did not change at the source',
    );

    const ends = await partitionEnds(topics.changelog);
    assert.equal(ends.length, PARTITIONS, 'the changelog has the configured partitions');
    for (const [partition, end] of ends.entries())
      assert.ok(end > 0n, `partition ${partition} received events`);
    const rows = await replica.query<{ stream: string }>(
      `SELECT stream FROM cdc_apply.applied_position ORDER BY stream`,
    );
    assert.deepEqual(
      rows.rows.map((row) => row.stream),
      Array.from({ length: PARTITIONS }, (_, p) => `${sourceName}#${p}`),
      'one applied-position row per partition',
    );
    t.diagnostic(
      `${increments} increments over ${finals.rows.length} counters; partition ends ${ends.join(', ')}`,
    );
  } catch (error) {
    for (const worker of workers) t.diagnostic(`apply process ${worker.pid}:\n${outputTail(worker, 30)}`);
    throw error;
  } finally {
    for (const worker of workers) await worker.kill('SIGTERM').catch(() => undefined);
    await capture?.stop();
    await rm(configPath, { force: true });
    await source.drop();
    await replica.drop();
    await dropOriginsOf(sourceName);
    await deleteKafkaState(
      [topics.changelog, topics.deadLetter, topics.schemas, topics.lease],
      [groupId, `${name}.capture.${sourceName}`],
      `${name}.`,
    );
  }
});
