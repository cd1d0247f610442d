/**
 * One randomized convergence run: regions started from a topology, a writer per writing region, and a seeded
 * chaos schedule at the same time (links paused and resumed through the API as a network partition, the
 * capture and the apply process SIGKILLed and started again), paced on the writers' commits rather than on
 * time. When the writers stopped, every link is resumed and drained, and then: every node's tables are equal
 * row for row; no key whose last change deleted it came back; every counter equals the sum of the committed
 * increments; every recorded conflict names its policy and outcome. The seed (`seed=...`) replays the same
 * writes and the same chaos schedule (CDC_TEST_SEED); what the processes do in between is timing.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { conflictLister, type ConflictEntry } from '../../../services/pipeline/conflict-list.ts';
import { seededRandom } from '../../support/workload.ts';
import { waitFor } from '../../support/wait.ts';
import type { NodeDatabase } from '../topology/harness.ts';
import { startRegions, type RegionLink, type Regions } from './regions.ts';
import { expectations, runWriter, schemaStatements, type Committed } from './writers.ts';

export interface ConvergenceRun {
  readonly label: string;
  readonly shape: 'pair' | 'mesh' | 'cascade';
  readonly nodes: readonly string[];
  readonly links: readonly RegionLink[];
  readonly mariadb?: readonly string[];
  /** Regions that write (all by default; a cascade's first tier only). */
  readonly writers?: readonly string[];
  /** Every region writes the same keys and counters (needs conflict handling). */
  readonly hot: boolean;
  readonly transactionsPerWriter: number;
  readonly linkApply?: Readonly<Record<string, unknown>>;
  /** Primary-key changes among the writers' statements (default true). */
  readonly keyChanges?: boolean;
  /** Chaos actions to draw from (all by default). */
  readonly chaos?: readonly Chaos[];
}

export type Chaos = 'partition' | 'kill-capture' | 'kill-apply';

const SLACK = 60;

/** The seeds to run: CDC_TEST_SEED alone, or CDC_TEST_SEEDS (a count) new ones, or `count` new ones. */
export function seeds(count: number): number[] {
  const fixed = process.env.CDC_TEST_SEED;
  if (fixed !== undefined && fixed !== '') return [Number(fixed)];
  const wanted = Number(process.env.CDC_TEST_SEEDS ?? count);
  return Array.from({ length: wanted }, () => Math.floor(Math.random() * 2 ** 31));
}

export async function runConvergence(t: TestContext, run: ConvergenceRun, seed: number): Promise<void> {
  t.diagnostic(`seed=${seed} (replay with CDC_TEST_SEED=${seed})`);
  const regions = await startRegions({
    label: run.label,
    shape: run.shape,
    nodes: run.nodes,
    links: run.links,
    ...(run.mariadb ? { mariadb: run.mariadb } : {}),
    ...(run.linkApply ? { linkApply: run.linkApply } : {}),
    prepare: async (database) => {
      for (const statement of schemaStatements()) await database.db.query(statement);
      // Conflict handling compares the local row with the change's old image, and a delta column needs its old
      // value: PostgreSQL sends whole old rows only under REPLICA IDENTITY FULL (docs/conflicts.md).
      if (database.kind === 'postgres')
        for (const table of ['items', 'counters'])
          await database.db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    },
  });
  try {
    await regions.waitStreaming();
    const writing = run.writers ?? run.nodes;
    let commits = 0;
    let writersDone = false;
    // Writers run at most SLACK commits past the chaos schedule's next step, so a slow restart (seconds) does
    // not let them finish before the schedule gets going; they still write while a process is down.
    const next = { at: 0 };
    const gate = () =>
      waitFor('the chaos schedule to catch up with the writers', () => commits < next.at + SLACK, {
        timeoutMs: 300_000,
        intervalMs: 20,
      }).then(() => undefined);
    const writes = Promise.all(
      writing.map((region, index) =>
        runWriter(regions.nodes[region] as NodeDatabase, {
          region,
          index,
          regions: writing.length,
          hot: run.hot,
          seed: seed + index,
          transactions: run.transactionsPerWriter,
          ...(run.keyChanges !== undefined ? { keyChanges: run.keyChanges } : {}),
          onCommit: () => commits++,
          gate,
        }),
      ),
    ).finally(() => (writersDone = true));
    const chaos = chaosSchedule(t, regions, run.chaos ?? ['partition', 'kill-capture', 'kill-apply'], seed, {
      commits: () => commits,
      done: () => writersDone,
      next,
    });
    const started = Date.now();
    const [committed] = await Promise.all([writes, chaos]);
    t.diagnostic(`${commits} transactions written in ${Date.now() - started} ms`);
    await assertConverged(t, regions, run, committed.flat(), seed);
  } finally {
    await regions.cleanup();
  }
}

async function chaosSchedule(
  t: TestContext,
  regions: Regions,
  actions: readonly Chaos[],
  seed: number,
  writers: { commits(): number; done(): boolean; readonly next: { at: number } },
): Promise<void> {
  const random = seededRandom(seed ^ 0x5eed);
  const pick = (n: number) => Math.floor(random() * n);
  const paused = new Set<string>();
  // Without actions the writers run free.
  writers.next.at = actions.length === 0 ? Infinity : 15 + pick(30);
  for (;;) {
    const next = writers.next.at;
    await waitFor(
      'the writers to commit more, or to finish',
      () => writers.done() || writers.commits() >= next,
      {
        timeoutMs: 600_000,
        intervalMs: 20,
      },
    );
    if (writers.done()) break;
    const action = actions[pick(actions.length)] as Chaos;
    switch (action) {
      case 'partition': {
        const link = regions.links[pick(regions.links.length)];
        if (link === undefined) break;
        const pause = !paused.has(link.worker);
        await regions.setLinkPaused(link.worker, pause);
        if (pause) paused.add(link.worker);
        else paused.delete(link.worker);
        t.diagnostic(
          `commit ${writers.commits()}: link ${link.from} → ${link.to} ${pause ? 'paused' : 'resumed'}`,
        );
        break;
      }
      case 'kill-capture':
        t.diagnostic(`commit ${writers.commits()}: SIGKILL capture`);
        await regions.killAndRestart('capture');
        break;
      case 'kill-apply':
        t.diagnostic(`commit ${writers.commits()}: SIGKILL apply`);
        await regions.killAndRestart('apply');
        // A new apply process runs every link.
        paused.clear();
        break;
    }
    writers.next.at = writers.commits() + 20 + pick(60);
  }
  for (const worker of paused) await regions.setLinkPaused(worker, false);
}

type Content = Map<string, string>;

/** Every row of every compared table, as `table:id` → the row's values joined. */
async function content(database: NodeDatabase): Promise<Content> {
  const rows = new Map<string, string>();
  for (const [table, sql] of [
    ['items', 'SELECT id, val, region FROM items ORDER BY id'],
    ['counters', 'SELECT id, total FROM counters ORDER BY id'],
  ] as const) {
    const result: Record<string, unknown>[] =
      database.kind === 'postgres' ? (await database.db.query(sql)).rows : await database.db.query(sql);
    for (const row of result) {
      const values = Object.values(row).map((value) => String(value));
      rows.set(`${table}:${values[0]}`, values.slice(1).join('|'));
    }
  }
  return rows;
}

/** The keys where the nodes differ, each with every node's row (or `-`), at most `limit` of them. */
function divergence(contents: Record<string, Content>, limit = 20): string[] {
  const keys = new Set(Object.values(contents).flatMap((c) => [...c.keys()]));
  const lines: string[] = [];
  for (const key of keys) {
    const values = Object.entries(contents).map(([node, c]) => [node, c.get(key) ?? '-'] as const);
    if (new Set(values.map(([, v]) => v)).size > 1)
      lines.push(`${key}: ${values.map(([n, v]) => `${n}=${v}`).join(' ')}`);
  }
  return lines.length > limit ? [...lines.slice(0, limit), `... ${lines.length - limit} more`] : lines;
}

async function assertConverged(
  t: TestContext,
  regions: Regions,
  run: ConvergenceRun,
  committed: readonly Committed[],
  seed: number,
): Promise<void> {
  const read = async () => {
    const contents: Record<string, Content> = {};
    for (const [short, node] of Object.entries(regions.nodes)) contents[short] = await content(node);
    return contents;
  };
  let last: Record<string, Content> = {};
  try {
    await waitFor(
      'every node to hold the same rows',
      async () => {
        last = await read();
        return divergence(last, 1).length === 0;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  } catch {
    const differing = divergence(last);
    const expected = expectations(committed, run.hot);
    const counters = Object.entries(last).flatMap(([node, rows]) =>
      [...expected.counters]
        .filter(([id, total]) => rows.get(`counters:${id}`) !== String(total))
        .map(
          ([id, total]) =>
            `counter ${id} on ${node}: ${rows.get(`counters:${id}`)}, increments sum to ${total}`,
        ),
    );
    const workers = (await regions.workers()).map(
      (w) =>
        `link ${w.name}: ${w.state}, lag ${w.lagMillis} ms${w.lastError ? `, last error: ${w.lastError}` : ''}`,
    );
    assert.fail(
      `seed=${seed}: the nodes did not converge; they differ at:\n${differing.join('\n')}\n${counters.join('\n')}\n${workers.join('\n')}\n${await conflictsAt(regions, differing.slice(0, 3))}`,
    );
  }
  await regions.waitDrained(120_000);
  const final = await read();
  assert.deepEqual(divergence(final), [], `seed=${seed}: the nodes differ after every link drained`);

  const expected = expectations(committed, run.hot);
  const [first] = Object.values(final);
  assert.ok(first);
  const came = expected.removed.filter((key) => first.has(`items:${key}`));
  assert.deepEqual(came, [], `seed=${seed}: keys whose last change deleted them came back`);
  for (const [id, total] of expected.counters)
    assert.equal(
      first.get(`counters:${id}`),
      String(total),
      `seed=${seed}: counter ${id} should be the sum of its committed increments`,
    );

  const conflicts = await allConflicts(regions);
  const incomplete = conflicts.filter((c) => c.policy === '' || c.outcome === '');
  assert.deepEqual(incomplete, [], `seed=${seed}: a recorded conflict does not name its policy and outcome`);
  if (!run.hot) assert.deepEqual(conflicts, [], `seed=${seed}: writers on disjoint keys had conflicts`);
  t.diagnostic(
    `seed=${seed}: ${expected.transactions} transactions converged on ${Object.keys(final).length} nodes (${first.size} rows each), ${expected.removed.length} keys deleted last, ${conflicts.length} conflicts recorded`,
  );
}

async function allConflicts(regions: Regions): Promise<ConflictEntry[]> {
  const lister = conflictLister(regions.config.replicas);
  const all: ConflictEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await lister.list({ limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
    all.push(...page.entries);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return all;
}

/** Conflict handling of the hot-key runs: last-writer-wins rows, and `counters.total` merged as a delta. */
export const HOT_KEY_CONFLICTS = {
  conflicts: { policy: 'last-writer-wins', tables: { 'public.counters': { columns: { total: 'delta' } } } },
} as const;

/** The recorded conflicts of the first differing keys, for a divergence report. */
async function conflictsAt(regions: Regions, lines: readonly string[]): Promise<string> {
  const keys = lines.flatMap((line) => /^items:(\d+):/.exec(line)?.[1] ?? []);
  const all = await allConflicts(regions);
  const shown = all
    .filter((c) => c.table.endsWith('.items'))
    .filter((c) => keys.some((key) => new RegExp(`[:"]${key}["},]`).test(JSON.stringify(c.key))));
  return [
    `conflicts recorded for items ${keys.join(', ')}:`,
    ...shown.map(
      (c) =>
        `  ${c.replica} ${c.kind} ${c.policy} → ${c.outcome}: local ${JSON.stringify(c.local)} (${c.localOrigin} @ ${c.localCommitTs}) remote ${JSON.stringify(c.remote)} (${c.remoteOrigin} @ ${c.remoteCommitTs})`,
    ),
  ].join('\n');
}
