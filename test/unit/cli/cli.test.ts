import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import type { ApiAccess } from '../../../services/api/access.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import type { StatusResponse } from '../../../services/cli/status-format.ts';
import { FakeStatus, connector, worker } from '../api/fake-status.ts';

const main = join(import.meta.dirname, '../../../services/cli/main.ts');

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cdc(...args: string[]): Promise<Outcome> {
  return cdcWith({}, ...args);
}

/** Runs the CLI with these environment variables on top of this process's, without CDC_API_TOKEN unless given. */
function cdcWith(env: Record<string, string>, ...args: string[]): Promise<Outcome> {
  const { CDC_API_TOKEN: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    const options = { timeout: 30_000, env: { ...inherited, ...env } };
    execFile(process.execPath, [main, ...args], options, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Serves `status` through the real API for the tests of the enclosing describe; `url()` is its address. */
function serveApi(status: FakeStatus, access?: ApiAccess): () => string {
  let app: FastifyInstance | null = null;
  let url = '';
  before(async () => {
    app = await buildApp({ status, metrics: createMetrics(), ...(access ? { access } : {}) });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app?.close();
  });
  return () => url;
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdc-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void describe('cdc validate', () => {
  void test('a valid file prints OK and exits 0', async () => {
    const result = await cdc(
      'validate',
      '--config',
      join(import.meta.dirname, '../../../examples/demo-postgres.yaml'),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^OK: .*demo-postgres\.yaml is a valid pipeline "demo"/);
  });

  void test('an invalid file lists every problem on stderr, without a stack trace, and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'name: x\nkafka: { brokers: [a:1] }\nsources: [{ name: s, kind: postgres, url: "postgres://h/d" }]\n' +
        'replicas: [{ name: r, source: t, kind: postgres, url: "postgres://h/d", batch: { maxEvents: -1 } }]\n',
    );
    const result = await cdc('validate', '--config', file);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /CONFIG_INVALID/);
    assert.match(result.stderr, /replicas\[0\]\.batch\.maxEvents: must be a positive integer/);
    assert.match(result.stderr, /replicas\[0\]\.source: names no source: "t"/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  void test('--verbose adds the stack trace', async () => {
    const result = await cdc('validate', '--config', join(dir, 'missing.yaml'), '--verbose');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /CONFIG_UNREADABLE.*missing\.yaml/);
    assert.match(result.stderr, /\n\s+at /);
  });

  void test('wrong usage exits 2 and says what is missing', async () => {
    const result = await cdc('validate');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /required option '-c, --config <file>' not specified/);
  });
});

void describe('cdc status and snapshot against a running API', () => {
  const status = new FakeStatus([connector({ snapshot: null })]);
  const url = serveApi(status);

  void test('status prints connectors and workers as a table', async () => {
    const result = await cdc('status', '--api', url());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^CONNECTOR\s+KIND\s+STATE/m);
    assert.match(result.stdout, /^WORKER\s+SOURCE\s+STATE\s+APPLIED\s+LAG\s+HOP LAG\s+BACKLOG\s+EVENTS/m);
    assert.match(result.stdout, /^pg-main\s+postgres\s+streaming\s+slot cdc_pg_main/m);
    assert.match(
      result.stdout,
      /^pg-replica\s+pg-main\s+running\s+pg:0\/1A2B3C#0\s+250 ms\s+200 ms\s+3\s+1200\s+300\s+1\s+1/m,
    );
  });

  void test('status says which process holds the capture lease, and that a re-snapshot is needed', async () => {
    const before = status.connectorList;
    status.connectorList = [
      connector({
        snapshot: null,
        state: 'standby',
        lease: {
          state: 'standby',
          heldSince: null,
          holder: { member: 'cdc.capture-lease.pg-main-4f1c', host: '10.0.0.7' },
          members: 2,
        },
      }),
      connector({
        name: 'pg-other',
        snapshot: null,
        state: 'failed',
        resnapshot: { state: 'needed', reason: 'the replication slot was dropped' },
      }),
    ];
    try {
      const result = await cdc('status', '--api', url());
      assert.equal(result.code, 1, 'a failed connector makes status exit 1');
      assert.ok(
        result.stdout.includes(
          'lease: pg-main: standby, 10.0.0.7 (cdc.capture-lease.pg-main-4f1c) captures (2 in the lease group)',
        ),
        result.stdout,
      );
      assert.ok(
        result.stdout.includes(
          're-snapshot needed: pg-other: the replication slot was dropped (cdc resnapshot pg-other --api <url>)',
        ),
        result.stdout,
      );
    } finally {
      status.connectorList = before;
    }
  });

  void test('status prints the warnings a connector reports, naming the table and the fix', async () => {
    const warning =
      'table public.audit has no key and REPLICA IDENTITY DEFAULT: only its inserts and truncates are captured; fix: ALTER TABLE public.audit REPLICA IDENTITY FULL, or add a primary key';
    const before = status.connectorList;
    status.connectorList = [connector({ snapshot: null, warnings: [warning] })];
    try {
      const result = await cdc('status', '--api', url());
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.stdout.includes(`warning: pg-main: ${warning}`), result.stdout);
    } finally {
      status.connectorList = before;
    }
  });

  void test('snapshot requests the snapshot and follows it until done', async () => {
    // The fake connector advances its snapshot each time /status is read, finishing after a few polls.
    let polls = 0;
    status.connectors = () => {
      polls++;
      const rowsDone = Math.min(polls * 100, 300);
      const done = status.snapshotRequests.length > 0 && rowsDone >= 300;
      const snapshot =
        status.snapshotRequests.length === 0
          ? null
          : {
              table: 'public.orders',
              tablesDone: done ? 1 : 0,
              tablesTotal: 1,
              rowsDone,
              rowsTotal: 300,
              rowsPerSecond: 1000,
              done,
            };
      return [connector({ state: 'snapshotting', snapshot })];
    };
    const result = await cdc(
      'snapshot',
      '--api',
      url(),
      '--source',
      'pg-main',
      '--tables',
      'public.orders',
      '--interval',
      '20',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(status.snapshotRequests, [{ source: 'pg-main', tables: ['public.orders'] }]);
    assert.match(result.stdout, /snapshot of public\.orders requested from pg-main/);
    assert.match(result.stdout, /snapshot of pg-main done: 300 rows in 1 tables/);
  });

  void test('snapshot of an unknown source exits 1 naming it', async () => {
    const result = await cdc('snapshot', '--api', url(), '--source', 'nope');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no source named "nope" \(sources: pg-main\)/);
  });

  void test('an unreachable API exits 1 naming the address', async () => {
    const result = await cdc('status', '--api', 'http://127.0.0.1:9');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the control API at http:\/\/127\.0\.0\.1:9\/status/);
  });
});

void describe('cdc --version', () => {
  void test('prints the version from package.json and exits 0', async () => {
    const { version } = JSON.parse(
      await readFile(join(import.meta.dirname, '../../../package.json'), 'utf8'),
    ) as { version: string };
    const result = await cdc('--version');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });
});

void describe('exit codes and limits against a running API', () => {
  const status = new FakeStatus([connector()], [worker()]);
  const url = serveApi(status);

  void test('status exits 1 when an apply worker has failed, naming it and why on stderr', async () => {
    status.workerList = [worker({ state: 'failed', lastError: 'relation "orders" does not exist' })];
    const result = await cdc('status', '--api', url());
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^pg-replica\s+pg-main\s+failed/m);
    assert.match(result.stderr, /apply worker pg-replica failed: relation "orders" does not exist/);
    status.workerList = [worker()];
  });

  void test('status --json exits 1 when a connector has failed', async () => {
    status.connectorList = [connector({ state: 'failed', lastError: 'slot is gone' })];
    const result = await cdc('status', '--api', url(), '--json');
    assert.equal(result.code, 1);
    assert.equal((JSON.parse(result.stdout) as StatusResponse).connectors[0]?.state, 'failed');
    assert.match(result.stderr, /connector pg-main failed: slot is gone/);
    status.connectorList = [connector()];
  });

  void test('status exits 0 when everything runs', async () => {
    const result = await cdc('status', '--api', url());
    assert.equal(result.code, 0, result.stderr);
  });

  void test('snapshot --timeout gives up with a clear error and exit code 1', async () => {
    // The fake connector's snapshot never finishes.
    status.connectorList = [connector({ state: 'snapshotting', snapshot: snapshotRunning() })];
    const started = Date.now();
    const result = await cdc(
      'snapshot',
      '--api',
      url(),
      '--source',
      'pg-main',
      '--interval',
      '50',
      '--timeout',
      '700',
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TIMED_OUT.*snapshot of pg-main was not done after 700 ms \(--timeout\)/);
    assert.ok(Date.now() - started < 15_000);
    status.connectorList = [connector()];
  });

  void test('pause and resume a connector and a worker by name', async () => {
    const pausedConnector = await cdc('pause', 'pg-main', '--api', url());
    assert.equal(pausedConnector.code, 0, pausedConnector.stderr);
    assert.equal(pausedConnector.stdout.trim(), 'connector pg-main is paused');
    const pausedWorker = await cdc('pause', 'pg-replica', '--api', url());
    assert.equal(pausedWorker.stdout.trim(), 'apply worker pg-replica is paused');
    assert.equal(status.connectorList[0]?.state, 'paused');
    assert.equal(status.workerList[0]?.state, 'paused');
    const resumed = await cdc('resume', 'pg-replica', '--api', url(), '--worker');
    assert.equal(resumed.stdout.trim(), 'apply worker pg-replica is running');
    await cdc('resume', 'pg-main', '--api', url());
    assert.equal(status.connectorList[0]?.state, 'streaming');
  });

  void test('pause of an unknown name exits 1 listing the names there are', async () => {
    const result = await cdc('pause', 'nope', '--api', url());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no connector or apply worker named "nope" \(names: pg-main, pg-replica\)/);
  });

  void test('resnapshot asks the connector for a re-snapshot and says what it does now', async () => {
    const result = await cdc('resnapshot', 'pg-main', '--api', url());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /re-snapshot of pg-main requested; the connector is starting/);
    assert.deepEqual(status.resnapshotRequests, ['pg-main']);
    const unknown = await cdc('resnapshot', 'nope', '--api', url());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no connector named "nope"/);
  });
});

function snapshotRunning() {
  return {
    table: 'public.orders',
    tablesDone: 0,
    tablesTotal: 1,
    rowsDone: 10,
    rowsTotal: 300,
    rowsPerSecond: 5,
    done: false,
  };
}

void describe('cdc against an API that needs tokens', () => {
  const readToken = 'r'.repeat(24);
  const adminToken = 'a'.repeat(24);
  const status = new FakeStatus();
  const url = serveApi(status, {
    tokens: [
      { name: 'dashboard', token: readToken, scope: 'read' },
      { name: 'ops', token: adminToken, scope: 'admin' },
    ],
    openProbes: true,
  });

  void test('without CDC_API_TOKEN the CLI exits 1 saying a token is needed and where it is read from', async () => {
    const outcome = await cdcWith({}, 'status', '--api', url());
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /answered 401: API_UNAUTHORIZED: .*CDC_API_TOKEN/);
  });

  void test('a read token shows the status but may not pause', async () => {
    const shown = await cdcWith({ CDC_API_TOKEN: readToken }, 'status', '--api', url());
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /pg-main/);
    const paused = await cdcWith({ CDC_API_TOKEN: readToken }, 'pause', 'pg-main', '--api', url());
    assert.equal(paused.code, 1);
    assert.match(paused.stderr, /answered 403: API_FORBIDDEN: .*needs an admin token/);
    assert.equal(status.connectorList[0]?.state, 'streaming');
  });

  void test('an admin token pauses and resumes', async () => {
    const paused = await cdcWith({ CDC_API_TOKEN: adminToken }, 'pause', 'pg-main', '--api', url());
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(status.connectorList[0]?.state, 'paused');
    await cdcWith({ CDC_API_TOKEN: adminToken }, 'resume', 'pg-main', '--api', url());
    assert.equal(status.connectorList[0]?.state, 'streaming');
  });
});
