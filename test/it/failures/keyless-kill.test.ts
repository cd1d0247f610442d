/**
 * Failure scenario: tables without a primary key (REPLICA IDENTITY FULL) next to a keyed table, written by a
 * continuous workload of small transactions, while the whole pipeline process (`cdc run`, capture and apply)
 * is SIGKILLed and started again, during its initial snapshot and while streaming. Afterwards every table of
 * the replica equals the source row for row, duplicates counted: a keyless table has no key to make a row
 * applied twice look like one, so the tables are compared as multisets.
 *
 * Seeded: the seed is printed; CDC_TEST_SEED replays one, CDC_TEST_SEEDS runs that many seeds one after the
 * other (default 1), CDC_TEST_KILLS sets the kills per seed (default 4, the first half during the snapshot).
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { topicEnd } from '../../support/changelog.ts';
import { apiUrlOf, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { dropPipelineState } from '../../support/scenario.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const SEEDS = Number(process.env.CDC_TEST_SEEDS ?? 1);
const KILLS = Number(process.env.CDC_TEST_KILLS ?? 4);
const TABLES = ['items', 'log_lines', 'readings'] as const;

/** `items` (keyed) is read first and long enough for kills to land in the snapshot; the others have no key. */
const SCHEMA = `
  CREATE TABLE items (id bigint PRIMARY KEY, qty int NOT NULL, label text);
  CREATE TABLE log_lines (origin text, n bigint, line text);
  ALTER TABLE log_lines REPLICA IDENTITY FULL;
  CREATE TABLE readings (sensor int, value numeric(12,3), at timestamptz(6));
  ALTER TABLE readings REPLICA IDENTITY FULL;
  INSERT INTO items SELECT g, g % 100, 'item-' || g FROM generate_series(1, 20000) g;
  INSERT INTO log_lines SELECT 'seed', g % 300, 'line ' || (g % 300) FROM generate_series(1, 2000) g;
  INSERT INTO readings SELECT g % 50, (g % 7) * 1.5, '2024-01-01 00:00:00.000001+00' FROM generate_series(1, 3000) g;
`;

interface ConnectorAnswer {
  readonly state: string;
  readonly snapshot: { readonly done: boolean } | null;
}

for (let round = 0; round < SEEDS; round++) {
  test(`SIGKILL of the pipeline during and after its snapshot, keyless and keyed tables under writes: every row once (round ${round + 1})`, async (t) => {
    const seed = Number(process.env.CDC_TEST_SEED ?? Date.now() % 100_000) + round;
    t.diagnostic(`seed ${seed} (replay with CDC_TEST_SEED=${seed})`);
    await killScenario(t, seed);
  });
}

async function killScenario(t: TestContext, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const name = uniqueName('keyless').replaceAll('_', '-');
  const sourceName = uniqueName('src');
  const source = await createDatabase('keyless_src');
  const replica = await createDatabase('keyless_dst');
  const configPath = join(tmpdir(), `${name}.json`);
  const topics = connectorTopics(name, sourceName);
  let child: CliProcess | null = null;
  const stopWrites = new AbortController();
  let writes: Promise<number> | null = null;
  try {
    await source.query(SCHEMA);
    await writeFile(
      configPath,
      JSON.stringify({
        name,
        logLevel: 'info',
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: name, sessionTimeoutMs: 6_000 },
        sources: [
          {
            name: sourceName,
            kind: 'postgres',
            url: source.url,
            slot: uniqueName('slot'),
            snapshotChunkRows: 100,
            heartbeatIntervalMs: 500,
          },
        ],
        replicas: [{ name: 'dst', source: sourceName, kind: 'postgres', url: replica.url, onError: 'stop' }],
        api: { port: 0 },
      }),
    );
    const start = (): CliProcess => startCli(['run', '--config', configPath]);
    // Writes run from before the slot exists to the end: the snapshot overlaps the stream on every table.
    writes = smallTransactions(source, seed, stopWrites.signal);
    child = start();
    for (let kill = 1; kill <= KILLS; kill++) {
      const running: CliProcess = child;
      const apiUrl = await apiUrlOf(running);
      const duringSnapshot = kill <= Math.ceil(KILLS / 2);
      if (!duringSnapshot)
        await whileAlive(running, `snapshot done before kill ${kill}`, snapshotDone(apiUrl));
      const from = await topicEnd(topics.changelog);
      const ahead = 1n + BigInt(Math.floor(random() * (duringSnapshot ? 3_000 : 600)));
      await whileAlive(
        running,
        `pipeline before kill ${kill}`,
        waitFor(
          `${ahead} more changelog messages before kill ${kill}`,
          async () => (await topicEnd(topics.changelog)) >= from + ahead,
          { timeoutMs: 180_000, intervalMs: 50 },
        ),
      );
      const phase = (await connectorOf(apiUrl))?.snapshot?.done === false ? 'snapshot' : 'streaming';
      const exit = await running.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', `pipeline was killed (kill ${kill})`);
      t.diagnostic(`kill ${kill} during ${phase}, at changelog offset >= ${from + ahead}`);
      // Only varies the moment of the restart; nothing waits on it.
      await delay(Math.floor(random() * 1_000));
      child = start();
    }
    const last: CliProcess = child;
    await whileAlive(last, 'snapshot done after the last restart', snapshotDone(await apiUrlOf(last)));
    stopWrites.abort();
    t.diagnostic(`${await writes} source transactions written`);
    // Transactions apply in commit order: once this one is on the replica, so is everything before it.
    await source.query(`INSERT INTO items VALUES (-1, 0, 'marker')`);
    await whileAlive(
      last,
      'replica catching up',
      waitFor(
        'the marker row on the replica',
        async () => {
          const exists = await replica.query<{ ok: string | null }>(`SELECT to_regclass('items') AS ok`);
          if (exists.rows[0]?.ok === null) return false;
          return ((await replica.query(`SELECT 1 FROM items WHERE id = -1`)).rowCount ?? 0) > 0;
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      ),
    );
    for (const table of TABLES) {
      const difference = multisetDifference(await rowsOf(source, table), await rowsOf(replica, table));
      assert.equal(difference, '', `replica ${table} equals the source row for row (seed ${seed})`);
    }
  } finally {
    stopWrites.abort();
    await writes?.catch(() => 0);
    await child?.kill('SIGKILL');
    await rm(configPath, { force: true });
    await source.drop();
    await replica.drop();
    await dropPipelineState(name, sourceName, 'dst');
  }
}

/** Small transactions, one after the other, on all three tables; keyless rows are often exact duplicates. */
async function smallTransactions(db: TestDatabase, seed: number, signal: AbortSignal): Promise<number> {
  const random = seededRandom(seed * 7 + 1);
  const pick = (n: number): number => Math.floor(random() * n);
  let committed = 0;
  while (!signal.aborted) {
    const statements: string[] = [];
    for (let s = 1 + pick(3); s > 0; s--) {
      const roll = pick(100);
      const sensor = pick(50);
      const reading = `(${sensor}, ${pick(7) * 1.5}, '2024-01-01 00:00:00.000001+00')`;
      const oneReading = `ctid = (SELECT ctid FROM readings WHERE sensor = ${sensor} LIMIT 1)`;
      const id = 1 + pick(20_500);
      if (roll < 25)
        statements.push(`INSERT INTO readings VALUES ${reading}${pick(4) === 0 ? `, ${reading}` : ''}`);
      else if (roll < 35) statements.push(`UPDATE readings SET value = value + 1 WHERE ${oneReading}`);
      else if (roll < 45) statements.push(`DELETE FROM readings WHERE ${oneReading}`);
      else if (roll < 65)
        statements.push(`INSERT INTO log_lines VALUES ('w', ${pick(300)}, 'line ${pick(300)}')`);
      else if (roll < 80) statements.push(`UPDATE items SET qty = qty + 1 WHERE id = ${id}`);
      else if (roll < 93)
        statements.push(
          `INSERT INTO items VALUES (${id}, ${pick(100)}, 'new-${id}') ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label`,
        );
      else statements.push(`DELETE FROM items WHERE id = ${id}`);
    }
    await db.query(`BEGIN; ${statements.join('; ')}; COMMIT;`);
    committed++;
    await delay(5);
  }
  return committed;
}

async function connectorOf(apiUrl: string): Promise<ConnectorAnswer | null> {
  const response = await fetch(`${apiUrl}/status`);
  const body = (await response.json()) as { connectors?: readonly ConnectorAnswer[] };
  return body.connectors?.[0] ?? null;
}

/** The initial snapshot of the running process is over (or there was none left to do). */
function snapshotDone(apiUrl: string): Promise<boolean> {
  return waitFor(
    'the initial snapshot to finish',
    async () => {
      const connector = await connectorOf(apiUrl);
      return connector?.state === 'streaming' && (connector.snapshot?.done ?? true);
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  );
}

/** Every row of the table as PostgreSQL's text of the whole row, duplicates kept, in one order. */
async function rowsOf(db: TestDatabase, table: string): Promise<string[]> {
  const result = await db.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t ORDER BY 1`);
  return result.rows.map((row) => row.row);
}

/** '' when both hold the same rows the same number of times; otherwise what differs, with counts. */
function multisetDifference(expected: readonly string[], actual: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const row of expected) counts.set(row, (counts.get(row) ?? 0) + 1);
  for (const row of actual) counts.set(row, (counts.get(row) ?? 0) - 1);
  const extra = [...counts].filter(([, n]) => n < 0);
  const missing = [...counts].filter(([, n]) => n > 0);
  if (extra.length === 0 && missing.length === 0) return '';
  const sum = (entries: [string, number][]): number =>
    entries.reduce((total, [, n]) => total + Math.abs(n), 0);
  return (
    `${expected.length} rows on the source, ${actual.length} on the replica: ` +
    `${sum(extra)} extra (e.g. ${JSON.stringify(extra.slice(0, 3))}), ${sum(missing)} missing (e.g. ${JSON.stringify(missing.slice(0, 3))})`
  );
}
