/**
 * Failure scenario: tables without a primary key next to a keyed table, written by a continuous workload of
 * small transactions, while the whole pipeline process (`cdc run`, capture and apply) is SIGKILLed and started
 * again, during its initial snapshot and while streaming. Afterwards every table of the PostgreSQL replica
 * equals the source row for row, duplicates counted: a keyless table has no key to make a row applied twice
 * look like one, so the tables are compared as multisets. Run with a PostgreSQL source (REPLICA IDENTITY FULL)
 * and with a MariaDB source.
 *
 * Seeded: the seed is printed; CDC_TEST_SEED replays one, CDC_TEST_SEEDS runs that many seeds per source
 * (default 1), CDC_TEST_KILLS sets the kills per run (default 4, the first half during the snapshot).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createTestPipeline, type TestPipeline } from '../../support/binlog-pipeline.ts';
import { topicEnd } from '../../support/changelog.ts';
import { apiUrlOf, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createMariadbDatabase } from '../../support/mariadb.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { seededRandom } from '../../support/workload.ts';

const SEEDS = Number(process.env.CDC_TEST_SEEDS ?? 1);
const KILLS = Number(process.env.CDC_TEST_KILLS ?? 4);

/** `items` (keyed) is read first and is long enough for kills to land in the snapshot; the others have no key. */
const TABLES = {
  items: ['id', 'qty', 'label'],
  log_lines: ['origin', 'n', 'line'],
  readings: ['sensor', 'value', 'at'],
} as const;
type Table = keyof typeof TABLES;
const ITEMS = 20_000;

/** A source database and the few statements whose spelling differs between dialects. */
interface Source {
  readonly kind: 'postgres' | 'mariadb';
  readonly url: string;
  /** The schema the replica holds the tables in. */
  readonly replicaSchema: string;
  /** Runs statements as one transaction. */
  transaction(statements: readonly string[]): Promise<void>;
  /** Each row of `table` as one text, duplicates kept. */
  rows(table: Table): Promise<string[]>;
  /** Changes one row of `readings` with this sensor, whichever of its equal rows. */
  oneReading(change: 'SET value = value + 1' | 'DELETE', sensor: number): string;
  upsertItem(id: number, qty: number): string;
  drop(): Promise<void>;
}

const READING_AT = `'2024-01-01 00:00:00.000001'`;
const rowText = (table: Table): string => `concat_ws('|', ${TABLES[table].join(', ')})`;

async function postgresSource(): Promise<Source> {
  const db = await createDatabase('keyless_src');
  await db.query(`
    CREATE TABLE items (id bigint PRIMARY KEY, qty int NOT NULL, label text NOT NULL);
    CREATE TABLE log_lines (origin text NOT NULL, n bigint NOT NULL, line text NOT NULL);
    ALTER TABLE log_lines REPLICA IDENTITY FULL;
    CREATE TABLE readings (sensor int NOT NULL, value numeric(12,3) NOT NULL, at timestamp(6) NOT NULL);
    ALTER TABLE readings REPLICA IDENTITY FULL;
    INSERT INTO items SELECT g, g % 100, 'item-' || g FROM generate_series(1, ${ITEMS}) g;
    INSERT INTO log_lines SELECT 'seed', g % 300, 'line ' || (g % 300) FROM generate_series(1, 2000) g;
    INSERT INTO readings SELECT g % 50, (g % 7) * 1.5, ${READING_AT} FROM generate_series(1, 3000) g;
  `);
  return {
    kind: 'postgres',
    url: db.url,
    replicaSchema: 'public',
    async transaction(statements) {
      await db.query(`BEGIN; ${statements.join('; ')}; COMMIT;`);
    },
    rows: (table) => textRows(db, `SELECT ${rowText(table)} AS row FROM ${table} ORDER BY 1`),
    oneReading: (change, sensor) =>
      `${change === 'DELETE' ? 'DELETE FROM readings' : `UPDATE readings ${change}`} WHERE ctid = (SELECT ctid FROM readings WHERE sensor = ${sensor} LIMIT 1)`,
    upsertItem: (id, qty) =>
      `INSERT INTO items VALUES (${id}, ${qty}, 'new-${id}') ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label`,
    drop: () => db.drop(),
  };
}

async function mariadbSource(): Promise<Source> {
  const db = await createMariadbDatabase('keyless_src');
  await db.query(`
    CREATE TABLE items (id bigint PRIMARY KEY, qty int NOT NULL, label varchar(40) NOT NULL);
    CREATE TABLE log_lines (origin varchar(10) NOT NULL, n bigint NOT NULL, line varchar(40) NOT NULL);
    CREATE TABLE readings (sensor int NOT NULL, value decimal(12,3) NOT NULL, at datetime(6) NOT NULL);
    INSERT INTO items SELECT seq, seq % 100, CONCAT('item-', seq) FROM seq_1_to_${ITEMS};
    INSERT INTO log_lines SELECT 'seed', seq % 300, CONCAT('line ', seq % 300) FROM seq_1_to_2000;
    INSERT INTO readings SELECT seq % 50, (seq % 7) * 1.5, ${READING_AT} FROM seq_1_to_3000;
  `);
  return {
    kind: 'mariadb',
    url: db.url,
    replicaSchema: db.name,
    async transaction(statements) {
      await db.query(`START TRANSACTION; ${statements.join('; ')}; COMMIT;`);
    },
    async rows(table) {
      const rows = await db.query(`SELECT ${rowText(table)} AS \`row\` FROM ${table}`);
      return rows.map((row) => row.row ?? '').sort();
    },
    oneReading: (change, sensor) =>
      `${change === 'DELETE' ? 'DELETE FROM readings' : `UPDATE readings ${change}`} WHERE sensor = ${sensor} LIMIT 1`,
    upsertItem: (id, qty) =>
      `INSERT INTO items VALUES (${id}, ${qty}, 'new-${id}') ON DUPLICATE KEY UPDATE label = VALUES(label)`,
    drop: () => db.drop(),
  };
}

async function textRows(db: TestDatabase, sql: string): Promise<string[]> {
  const result = await db.query<{ row: string }>(sql);
  // Sorted here, not by the server: both sides must agree on one order whatever their collations.
  return result.rows.map((row) => row.row).sort();
}

interface ConnectorAnswer {
  readonly state: string;
  readonly snapshot: {
    readonly done: boolean;
    readonly table: string | null;
    readonly rowsDone: number;
  } | null;
}

for (const [kind, open] of [
  ['PostgreSQL', postgresSource],
  ['MariaDB', mariadbSource],
] as const) {
  for (let round = 0; round < SEEDS; round++) {
    test(`${kind} source: SIGKILL of the pipeline during and after its snapshot, keyless and keyed tables under writes: every row once (round ${round + 1})`, async (t) => {
      const seed = Number(process.env.CDC_TEST_SEED ?? Date.now() % 100_000) + round;
      t.diagnostic(`seed ${seed} (replay with CDC_TEST_SEED=${seed})`);
      const source = await open();
      const replica = await createDatabase('keyless_dst');
      let pipeline: TestPipeline | null = null;
      try {
        pipeline = await createTestPipeline({
          prefix: 'keyless',
          source: { kind: source.kind, url: source.url },
          replica: { kind: 'postgres', url: replica.url },
        });
        await killScenario(t, seed, source, replica, pipeline);
      } finally {
        await pipeline?.cleanup();
        await source.drop();
        await replica.drop();
      }
    });
  }
}

async function killScenario(
  t: TestContext,
  seed: number,
  source: Source,
  replica: TestDatabase,
  pipeline: TestPipeline,
): Promise<void> {
  const random = seededRandom(seed);
  const changelog = pipeline.topics.changelog;
  const start = (): CliProcess => startCli(['run', '--config', pipeline.configPath]);
  const stopWrites = new AbortController();
  // Writes run from before capture starts to the end: the snapshot overlaps the stream on every table.
  const writes = smallTransactions(source, seed, stopWrites.signal);
  let child = start();
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const running: CliProcess = child;
      const apiUrl = await apiUrlOf(running);
      const duringSnapshot = kill <= Math.ceil(KILLS / 2);
      if (!duringSnapshot)
        await whileAlive(running, `snapshot done before kill ${kill}`, snapshotDone(apiUrl));
      const from = await topicEnd(changelog);
      const target = from + 1n + BigInt(Math.floor(random() * (duringSnapshot ? 3_000 : 600)));
      // The last kill in the snapshot aims at the keyless tables, read after `items`: as one begins, or some
      // rows into it.
      const moment =
        kill === Math.ceil(KILLS / 2)
          ? insideKeylessTable(apiUrl, random() < 0.5 ? 0 : 1 + Math.floor(random() * 600))
          : waitFor(
              `changelog offset ${target} before kill ${kill}`,
              async () => (await topicEnd(changelog)) >= target,
              { timeoutMs: 180_000, intervalMs: 50 },
            );
      await whileAlive(running, `pipeline before kill ${kill}`, moment);
      const snapshot = (await connectorOf(apiUrl))?.snapshot;
      const phase = snapshot?.done === false ? `snapshot (${snapshot.table})` : 'streaming';
      const exit = await running.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', `pipeline was killed (kill ${kill})`);
      t.diagnostic(`kill ${kill} during ${phase}, at changelog offset ${await topicEnd(changelog)}`);
      // Only varies the moment of the restart; nothing waits on it.
      await delay(Math.floor(random() * 1_000));
      child = start();
    }
    const last: CliProcess = child;
    const apiUrl = await apiUrlOf(last);
    await whileAlive(last, 'snapshot done after the last restart', snapshotDone(apiUrl));
    // A snapshot of every table requested while streaming and writing: it must replace, not add to, the
    // replica's rows of the keyless tables.
    const requested = await fetch(`${apiUrl}/snapshots`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: pipeline.sourceName }),
    });
    assert.equal(requested.status, 202, await requested.text());
    await whileAlive(
      last,
      'requested snapshot',
      waitFor(
        'the requested snapshot to start',
        async () => (await connectorOf(apiUrl))?.snapshot?.done === false,
        {
          timeoutMs: 60_000,
          intervalMs: 50,
        },
      ),
    );
    await whileAlive(last, 'requested snapshot', snapshotDone(apiUrl));
    stopWrites.abort();
    t.diagnostic(`${await writes} source transactions written`);
    // Transactions apply in commit order: once this one is on the replica, so is everything before it.
    await source.transaction([source.upsertItem(-1, 0)]);
    const items = `"${source.replicaSchema}".items`;
    await whileAlive(
      last,
      'replica catching up',
      waitFor(
        'the marker row on the replica',
        async () => {
          const exists = await replica.query<{ ok: string | null }>(`SELECT to_regclass($1) AS ok`, [items]);
          if (exists.rows[0]?.ok === null) return false;
          return ((await replica.query(`SELECT 1 FROM ${items} WHERE id = -1`)).rowCount ?? 0) > 0;
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      ),
    );
    for (const table of Object.keys(TABLES) as Table[]) {
      const onReplica = await textRows(
        replica,
        `SELECT ${rowText(table)} AS row FROM "${source.replicaSchema}".${table}`,
      );
      const difference = multisetDifference(await source.rows(table), onReplica);
      assert.equal(difference, '', `replica ${table} equals the source row for row (seed ${seed})`);
    }
  } finally {
    stopWrites.abort();
    await writes.catch(() => 0);
    await child.kill('SIGKILL');
  }
}

/** Small transactions, one after the other, on all three tables; keyless rows are often exact duplicates. */
async function smallTransactions(source: Source, seed: number, signal: AbortSignal): Promise<number> {
  const random = seededRandom(seed * 7 + 1);
  const pick = (n: number): number => Math.floor(random() * n);
  let committed = 0;
  while (!signal.aborted) {
    const statements: string[] = [];
    for (let s = 1 + pick(3); s > 0; s--) {
      const roll = pick(100);
      const sensor = pick(50);
      const reading = `(${sensor}, ${pick(7) * 1.5}, ${READING_AT})`;
      const id = 1 + pick(ITEMS + 500);
      if (roll < 25)
        statements.push(`INSERT INTO readings VALUES ${reading}${pick(4) === 0 ? `, ${reading}` : ''}`);
      else if (roll < 35) statements.push(source.oneReading('SET value = value + 1', sensor));
      else if (roll < 45) statements.push(source.oneReading('DELETE', sensor));
      else if (roll < 65)
        statements.push(`INSERT INTO log_lines VALUES ('w', ${pick(300)}, 'line ${pick(300)}')`);
      else if (roll < 80) statements.push(`UPDATE items SET qty = qty + 1 WHERE id = ${id}`);
      else if (roll < 93) statements.push(source.upsertItem(id, pick(100)));
      else statements.push(`DELETE FROM items WHERE id = ${id}`);
    }
    await source.transaction(statements);
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

/** The snapshot reads a keyless table and published `rows` more rows since it was first seen there, or is done. */
function insideKeylessTable(apiUrl: string, rows: number): Promise<boolean> {
  let start: number | null = null;
  return waitFor(
    'the snapshot to read a keyless table',
    async () => {
      const snapshot = (await connectorOf(apiUrl))?.snapshot;
      if (snapshot === null || snapshot === undefined) return false;
      if (snapshot.done) return true;
      if (!/\.(log_lines|readings)$/.test(snapshot.table ?? '')) return false;
      start ??= snapshot.rowsDone;
      return snapshot.rowsDone >= start + rows;
    },
    { timeoutMs: 180_000, intervalMs: 20 },
  );
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
