/**
 * `cdc run` stops on SIGTERM within `shutdownTimeoutMs`, with exit code 0, at the moments a shutdown is most
 * likely to find something in flight: streaming under load, a link paused, an apply worker in the middle of a
 * large target transaction, and right after start-up while the consumer groups join (the members of a
 * SIGKILLed process are still in them, so the join waits for the broker to drop them). The topology is a
 * PostgreSQL pair a ⇄ b with conflict handling (counters merged as deltas, so a change applied twice shows),
 * run as a capture and an apply process, with a writer in region a. After every stop the processes start
 * again, and at the end both nodes hold the same rows: a shutdown lost and repeated nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { logLines, outputTail, type CliProcess } from '../../support/child-process.ts';
import { adminQuery } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';
import { HOT_KEY_CONFLICTS } from '../convergence/convergence.ts';
import { startRegions, type Regions, type Role } from '../convergence/regions.ts';
import { runWriter, schemaStatements } from '../convergence/writers.ts';
import type { NodeDatabase } from '../topology/harness.ts';

/**
 * Beyond the configured shutdown timeout: a process past it ends itself (exit code 1), so the slack only covers
 * the exit; a stop that takes longer than the timeout fails the test either way.
 */
const SLACK_MS = 3_000;
const BULK_FROM = 9_000_000;
const BULK_ROWS = 60_000;

let regions: Regions;
let seed = 1;

before(async () => {
  regions = await startRegions({
    label: 'ops_shutdown',
    shape: 'pair',
    nodes: ['a', 'b'],
    links: [{ from: 'a', to: 'b' }],
    linkApply: HOT_KEY_CONFLICTS,
    prepare: async (database) => {
      for (const statement of schemaStatements()) await database.db.query(statement);
      if (database.kind === 'postgres')
        for (const table of ['items', 'counters'])
          await database.db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    },
  });
  await regions.waitStreaming();
});

after(async () => {
  await regions.cleanup();
});

function node(short: string): NodeDatabase & { kind: 'postgres' } {
  const found = regions.nodes[short];
  assert.ok(found?.kind === 'postgres', `no PostgreSQL node ${short}`);
  return found;
}

/**
 * A writer in region a for `transactions` transactions; `commits()` counts what committed so far. Region b has
 * no writer: its local transactions and the rows applied into it can deadlock each other (a live system's
 * clients retry that; the test's writer does not), which is no concern of a shutdown.
 */
function startWriters(transactions: number): { done: Promise<void>; commits: () => number } {
  let commits = 0;
  const done = runWriter(node('a'), {
    region: 'a',
    index: 0,
    regions: 2,
    hot: false,
    seed: seed++,
    transactions,
    keyChanges: false,
    onCommit: () => commits++,
  }).then(() => undefined);
  return { done, commits: () => commits };
}

/**
 * Sends SIGTERM to the role's process and waits for its exit, at most the configured shutdown timeout plus
 * slack; then asserts it stopped cleanly and logged how long each part of the shutdown took.
 */
async function terminate(role: Role): Promise<void> {
  const child: CliProcess = regions.process(role);
  const bound = regions.config.shutdownTimeoutMs + SLACK_MS;
  const exit = await child.kill('SIGTERM', bound).catch((error: unknown) => {
    assert.fail(
      `the ${role} process did not exit within ${bound} ms of SIGTERM (${String(error)}); its output ends with:\n${outputTail(child, 40)}`,
    );
  });
  assert.deepEqual(
    exit,
    { code: 0, signal: null },
    `the ${role} process should stop cleanly; its output ends with:\n${outputTail(child, 40)}`,
  );
  const stopped = logLines(child.stdout()).find((line) => line.msg === 'shutdown done');
  assert.ok(stopped, `the ${role} process should log its shutdown; output:\n${outputTail(child, 40)}`);
}

/** Starts the role's process again once it exited (a process that did not exit is killed first). */
async function restart(role: Role): Promise<void> {
  await regions.killAndRestart(role);
}

/** Runs `scenario`, then starts the processes it stopped again, whether it passed or not. */
async function stopping(roles: readonly Role[], scenario: () => Promise<void>): Promise<void> {
  try {
    await scenario();
  } finally {
    for (const role of roles) await restart(role);
  }
}

async function worker(name: string): Promise<{ state: string; eventsApplied: number; backlog: number }> {
  const response = await fetch(`${apiOf('apply')}/status`);
  const { workers } = (await response.json()) as {
    workers: { name: string; state: string; eventsApplied: number; backlogEvents: number | null }[];
  };
  const found = workers.find((w) => w.name === name);
  assert.ok(found, `no worker ${name} in /status`);
  return { state: found.state, eventsApplied: found.eventsApplied, backlog: found.backlogEvents ?? 0 };
}

function apiOf(role: Role): string {
  const line = logLines(regions.process(role).stdout()).find((entry) => typeof entry.apiUrl === 'string');
  assert.ok(typeof line?.apiUrl === 'string', `no API address logged by the ${role} process`);
  return line.apiUrl;
}

function linkWorker(from: string, to: string): string {
  const link = regions.links.find((l) => l.from === from && l.to === to);
  assert.ok(link, `no link ${from} → ${to}`);
  return link.worker;
}

test('SIGTERM while streaming under load: both processes stop cleanly within the shutdown timeout', () =>
  stopping(['capture', 'apply'], async () => {
    const writers = startWriters(400);
    await waitFor('the writers to commit', () => writers.commits() >= 30, { timeoutMs: 120_000 });
    await Promise.all([terminate('capture'), terminate('apply')]);
    await writers.done;
  }));

test('SIGTERM while a link is paused', () =>
  // A new apply process runs every link, the paused one too.
  stopping(['capture', 'apply'], async () => {
    await regions.waitStreaming();
    const name = linkWorker('a', 'b');
    await regions.setLinkPaused(name, true);
    await waitFor('the link to report paused', async () => (await worker(name)).state === 'paused', {
      timeoutMs: 60_000,
    });
    const writers = startWriters(200);
    await waitFor('the writers to commit', () => writers.commits() >= 30, { timeoutMs: 120_000 });
    await terminate('apply');
    await terminate('capture');
    await writers.done;
  }));

test('SIGTERM while the apply worker is in the middle of a large target transaction', () =>
  stopping(['apply'], async () => {
    await regions.waitStreaming();
    await node('a').db.query(
      `INSERT INTO items (id, val, region) SELECT g, 'bulk-' || g, 'a' FROM generate_series(${BULK_FROM}, ${BULK_FROM + BULK_ROWS - 1}) g`,
    );
    // No writer meanwhile: the only transaction an apply session holds open in b is then the bulk one.
    await waitFor(
      'the apply worker to be writing the bulk transaction into b',
      async () => {
        const { rows } = (await adminQuery(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cdc-apply' AND backend_xid IS NOT NULL`,
          [node('b').db.name],
        )) as { rows: { n: number }[] };
        return Number(rows[0]?.n) > 0;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    await terminate('apply');
  }));

test('SIGTERM right after start-up, while the consumer groups are joining', () =>
  stopping(['apply'], async () => {
    await regions.waitStreaming();
    const writers = startWriters(100);
    // SIGKILL leaves the old members in their groups: the new process's joins wait until the broker drops them.
    await regions.killAndRestart('apply');
    await terminate('apply');
    await writers.done;
  }));

test('after the stops both nodes hold the same rows: nothing lost, nothing applied twice', async () => {
  await regions.waitStreaming();
  await regions.waitDrained(180_000);
  const rows = async (short: string) =>
    (await node(short).db.query('SELECT id, val, region FROM items ORDER BY id')).rows.concat(
      (await node(short).db.query('SELECT id, total FROM counters ORDER BY id')).rows,
    );
  await waitFor(
    'both nodes to hold the same rows',
    async () => JSON.stringify(await rows('a')) === JSON.stringify(await rows('b')),
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
  const bulk = await node('b').db.query(`SELECT count(*)::int AS n FROM items WHERE id >= ${BULK_FROM}`);
  assert.equal(Number(bulk.rows[0]?.n), BULK_ROWS, 'the bulk transaction reached b whole');
});
