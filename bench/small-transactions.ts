/**
 * Small transactions end to end: pgbench writes a mix of 1- to 5-row transactions (transfers between accounts,
 * tellers and branches, and history rows, in the manner of its TPC-B script) into a PostgreSQL source while
 * the whole pipeline runs, and the figure is source transactions per second applied to the replica: from
 * pgbench's start until the replica's apply worker has applied every one of them. pgbench's own rate on the
 * source in the same run is the limit it is compared with.
 *
 * Every transaction keeps the sum of all balances at zero, so a replica that ever showed part of a transaction
 * would show another sum: that sum is sampled on the replica while pgbench runs, and the tables are compared
 * with the source's at the end (whole transactions, in order, nothing lost).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/logger.ts';
import { tableContent, type TestDatabase } from '../test/support/pg.ts';
import { waitFor } from '../test/support/wait.ts';
import type { BenchEnv } from './env.ts';
import { startLivePipeline } from './live-pipeline.ts';

const PG_BIN = process.env.CDC_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const ACCOUNTS = 100_000;
const TELLERS = 1_000;
const BRANCHES = 100;

const SCHEMA_SQL = `
  CREATE TABLE accounts (aid integer PRIMARY KEY, bid integer NOT NULL, abalance integer NOT NULL, filler text);
  CREATE TABLE tellers (tid integer PRIMARY KEY, bid integer NOT NULL, tbalance integer NOT NULL);
  CREATE TABLE branches (bid integer PRIMARY KEY, bbalance integer NOT NULL);
  CREATE TABLE history (hid bigserial PRIMARY KEY, tid integer, bid integer, aid integer, delta integer NOT NULL,
    mtime timestamptz NOT NULL);
  INSERT INTO accounts SELECT g, 1 + g % ${BRANCHES}, 0, 'account ' || g FROM generate_series(1, ${ACCOUNTS}) g;
  INSERT INTO tellers SELECT g, 1 + g % ${BRANCHES}, 0 FROM generate_series(1, ${TELLERS}) g;
  INSERT INTO branches SELECT g, 0 FROM generate_series(1, ${BRANCHES}) g;`;

const PICK = `\\set a1 random(1, ${ACCOUNTS})
\\set a2 random(1, ${ACCOUNTS})
\\set lo least(:a1, :a2)
\\set hi greatest(:a1, :a2)
\\set tid random(1, ${TELLERS})
\\set bid random(1, ${BRANCHES})
\\set delta random(1, 1000)
`;
/** Accounts are updated lowest id first, then tellers, then branches: concurrent clients lock in one order. */
const SCRIPTS: Record<string, string> = {
  'one-row': `INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :lo, 0, now());`,
  'two-rows': `BEGIN;
UPDATE accounts SET abalance = abalance - :delta WHERE aid = :lo;
UPDATE accounts SET abalance = abalance + :delta WHERE aid = :hi;
END;`,
  'three-rows': `BEGIN;
UPDATE accounts SET abalance = abalance - :delta WHERE aid = :lo;
UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :lo, :delta, now());
END;`,
  'four-rows': `BEGIN;
UPDATE accounts SET abalance = abalance - 2 * :delta WHERE aid = :lo;
UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :lo, :delta, now());
END;`,
  'five-rows': `BEGIN;
UPDATE accounts SET abalance = abalance - 3 * :delta WHERE aid = :lo;
UPDATE accounts SET abalance = abalance + :delta WHERE aid = :hi;
UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :lo, :delta, now());
END;`,
};
/** The sum every transaction keeps at zero, read in one snapshot. */
const BALANCE_SQL = `SELECT ((SELECT sum(abalance) FROM accounts) + (SELECT sum(tbalance) FROM tellers)
  + (SELECT sum(bbalance) FROM branches))::text AS total`;

export interface SmallTransactionsResult {
  readonly transactions: number;
  /** From pgbench's start until the replica applied its last transaction. */
  readonly seconds: number;
  /** pgbench alone on the source, the same transactions in the same run. */
  readonly sourceSeconds: number;
  /** Samples of the replica's balance sum taken while the transactions were applied. */
  readonly wholeChecks: number;
  readonly peakRssMb: number;
}

export async function benchSmallTransactions(
  env: BenchEnv,
  options: { readonly transactions: number; readonly clients: number },
  logger: Logger,
): Promise<SmallTransactionsResult> {
  const source = await env.createPgDatabase('bench_tx_src');
  const replica = await env.createPgDatabase('bench_tx_dst');
  const scripts = await mkdtemp(join(tmpdir(), 'bench-tx-'));
  try {
    await source.query(SCHEMA_SQL);
    const files: string[] = [];
    for (const [name, body] of Object.entries(SCRIPTS)) {
      const file = join(scripts, `${name}.sql`);
      await writeFile(file, `${PICK}${body}\n`);
      files.push(file);
    }
    const pipeline = await startLivePipeline({ brokers: env.brokers, source, replica, logger });
    let result: Omit<SmallTransactionsResult, 'wholeChecks'>;
    let wholeChecks = 0;
    // A balance sum other than zero seen on the replica: part of a transaction was visible.
    const seen: { unbalanced: string | null } = { unbalanced: null };
    try {
      const seeded = ACCOUNTS + TELLERS + BRANCHES;
      await waitFor('the snapshot on the replica', () => pipeline.applied() >= seeded, {
        timeoutMs: 600_000,
      });
      const transactionsApplied = (): number => pipeline.running.workers()[0]?.transactionsApplied ?? 0;
      const before = transactionsApplied();
      let peak = process.memoryUsage.rss();
      const started = performance.now();
      const perClient = Math.ceil(options.transactions / options.clients);
      const total = perClient * options.clients;
      const writing = runPgbench(source.url, files, options.clients, perClient).then(
        () => (performance.now() - started) / 1000,
      );
      let sourceSeconds: number | null = null;
      void writing.then((seconds) => (sourceSeconds = seconds)).catch(() => undefined);
      await waitFor(
        'every pgbench transaction on the replica',
        async () => {
          peak = Math.max(peak, process.memoryUsage.rss());
          seen.unbalanced ??= await unbalancedSum(replica);
          wholeChecks++;
          return seen.unbalanced !== null || transactionsApplied() - before >= total;
        },
        { timeoutMs: 600_000, intervalMs: 50 },
      );
      const seconds = (performance.now() - started) / 1000;
      if (seen.unbalanced !== null)
        throw new Error(
          `small transactions: the replica's balances summed to ${seen.unbalanced}, a transaction was applied in part`,
        );
      result = {
        transactions: total,
        seconds,
        sourceSeconds: sourceSeconds ?? (await writing),
        peakRssMb: Math.round(peak / 1024 / 1024),
      };
    } finally {
      await pipeline.stop();
    }
    for (const table of ['accounts', 'tellers', 'branches', 'history']) {
      const [expected, actual] = await Promise.all([
        tableContent(source, table, '1'),
        tableContent(replica, table, '1'),
      ]);
      if (JSON.stringify(expected) !== JSON.stringify(actual))
        throw new Error(`small transactions: the replica's ${table} differs from the source's`);
    }
    return { ...result, wholeChecks };
  } finally {
    await rm(scripts, { recursive: true, force: true });
    await source.drop();
    await replica.drop();
  }
}

/** The replica's balance sum when it is not zero (part of a transaction applied), else null. */
async function unbalancedSum(replica: TestDatabase): Promise<string | null> {
  const total = (await replica.query<{ total: string | null }>(BALANCE_SQL)).rows[0]?.total ?? null;
  return total === null || total === '0' ? null : total;
}

/** pgbench with the five scripts at equal weight; deadlocks between transfers are retried by pgbench itself. */
function runPgbench(
  url: string,
  files: readonly string[],
  clients: number,
  perClient: number,
): Promise<void> {
  const args = [
    '--no-vacuum',
    `--client=${clients}`,
    `--jobs=${Math.min(clients, 2)}`,
    `--transactions=${perClient}`,
    '--max-tries=10',
    ...files.map((file) => `--file=${file}@1`),
    url,
  ];
  return new Promise((resolve, reject) => {
    // Without waiting for the WAL flush of each commit, pgbench is not held to the disk's flush rate, so the
    // pipeline, not the writer, is what the figure measures. The WAL still reaches the slot within
    // wal_writer_delay.
    const env = { ...process.env, PGOPTIONS: '-c synchronous_commit=off' };
    const child = spawn(`${PG_BIN}/pgbench`, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const failed = /number of failed transactions: (\d+)/.exec(output)?.[1];
      if (code !== 0 || (failed !== undefined && failed !== '0'))
        reject(new Error(`pgbench exited with ${code}: ${output.trim()}`));
      else resolve();
    });
  });
}
