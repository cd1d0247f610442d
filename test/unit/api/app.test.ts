import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { CdcError } from '../../../common/errors.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { FakeStatus, connector, worker } from './fake-status.ts';

const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function appWith(status: FakeStatus, extra: { config?: ReturnType<typeof parseConfig> } = {}) {
  const metrics = createMetrics();
  const app = await buildApp({ status, metrics, ...extra });
  apps.push(app);
  return { app, metrics };
}

function errorOf(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  return parsed.error;
}

void describe('health and readiness', () => {
  void test('/health answers while the process is alive, whatever the pipeline does', async () => {
    const { app } = await appWith(new FakeStatus([connector({ state: 'failed' })]));
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  void test('/ready is 200 when every connector captures and every worker runs', async () => {
    const { app } = await appWith(
      new FakeStatus([connector(), connector({ name: 'maria', kind: 'mariadb', state: 'snapshotting' })]),
    );
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { ready: true, reasons: [] });
  });

  void test('/ready is 503 and says which part is not ready and why', async () => {
    const status = new FakeStatus(
      [
        connector({ state: 'reconnecting', lastError: 'connection refused' }),
        connector({ name: 'maria', kind: 'mariadb' }),
      ],
      [
        worker({
          state: 'failed',
          lastError: 'duplicate key value violates unique constraint "orders_pkey"',
        }),
        worker({ name: 'w2', state: 'starting' }),
      ],
    );
    const { app } = await appWith(status);
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), {
      ready: false,
      reasons: [
        'connector pg-main is reconnecting: connection refused',
        'apply worker pg-replica is failed: duplicate key value violates unique constraint "orders_pkey"',
        'apply worker w2 is starting',
      ],
    });
  });

  void test('/ready is 503 while nothing runs yet', async () => {
    const { app } = await appWith(new FakeStatus([], []));
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json<{ reasons: string[] }>().reasons, [
      'no connector or apply worker is running',
    ]);
  });

  void test('/ready is 200 for an apply-only process (--role apply) whose workers run', async () => {
    const { app } = await appWith(new FakeStatus([], [worker()]));
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { ready: true, reasons: [] });
  });

  void test('/ready is 200 for a capture-only process (--role capture) whose connectors stream', async () => {
    const { app } = await appWith(new FakeStatus([connector()], []));
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200, response.body);
  });

  void test('a paused connector or worker is paused on purpose: the process stays ready', async () => {
    const { app } = await appWith(
      new FakeStatus([connector({ state: 'paused' })], [worker({ state: 'paused' })]),
    );
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200, response.body);
  });
});

void describe('status', () => {
  void test('/status lists connectors and workers with every documented field', async () => {
    const snapshot = {
      table: 'public.orders',
      tablesDone: 1,
      tablesTotal: 3,
      rowsDone: 500,
      rowsTotal: 2000,
      rowsPerSecond: 250.5,
      done: false,
    };
    const { app } = await appWith(new FakeStatus([connector({ state: 'snapshotting', snapshot })]));
    const response = await app.inject({ method: 'GET', url: '/status' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {
      connectors: [connector({ state: 'snapshotting', snapshot })],
      workers: [worker()],
    });
  });

  void test('secrets never appear in /status, /ready, /config or error answers', async () => {
    const config = parseConfig(
      JSON.stringify({
        name: 'demo',
        kafka: { brokers: ['127.0.0.1:59092'] },
        sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://app:Sup3rSecret@db:5432/shop' }],
        replicas: [
          {
            name: 'pg-replica',
            source: 'pg-main',
            kind: 'postgres',
            url: 'postgres://app:R3plicaPw@replica/shop',
          },
        ],
      }),
      'json',
      { env: {} },
    );
    const status = new FakeStatus(
      [
        connector({
          state: 'failed',
          stream: 'slot cdc_pg_main on postgres://app:Sup3rSecret@db:5432/shop',
          lastError:
            'connect to postgres://app:Sup3rSecret@db:5432/shop failed (host=db password=Sup3rSecret)',
          // A field the status contract does not have must not be passed through either.
          ...({ url: 'postgres://app:Sup3rSecret@db:5432/shop' } as object),
        }),
      ],
      [worker({ state: 'failed', lastError: 'login failed with R3plicaPw' })],
    );
    status.snapshotFailure = new CdcError(
      'SOURCE_UNREACHABLE',
      'cannot reach postgres://app:Sup3rSecret@db:5432/shop',
    );
    const { app } = await appWith(status, { config });
    const answers = await Promise.all([
      app.inject({ method: 'GET', url: '/status' }),
      app.inject({ method: 'GET', url: '/ready' }),
      app.inject({ method: 'GET', url: '/config' }),
      app.inject({ method: 'POST', url: '/snapshots', payload: { source: 'pg-main' } }),
    ]);
    for (const answer of answers) {
      assert.ok(!answer.body.includes('Sup3rSecret') && !answer.body.includes('R3plicaPw'), answer.body);
      // Redaction keeps the answer well-formed JSON.
      assert.doesNotThrow(() => JSON.parse(answer.body) as unknown);
    }
    const [statusAnswer, , configAnswer, snapshotAnswer] = answers;
    const shown = statusAnswer.json<{ connectors: Record<string, unknown>[] }>().connectors[0]!;
    assert.equal(shown.lastError, 'connect to postgres://app:***@db:5432/shop failed (host=db password=***)');
    assert.equal('url' in shown, false);
    assert.equal(
      configAnswer.json<{ sources: { url: string }[] }>().sources[0]?.url,
      'postgres://app:***@db:5432/shop',
    );
    assert.equal(snapshotAnswer.statusCode, 503);
  });
});

void describe('metrics', () => {
  void test('/metrics is Prometheus text with the service metrics and current lag', async () => {
    const { app, metrics } = await appWith(new FakeStatus());
    metrics.eventsPublished.inc({ connector: 'pg-main' }, 42);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(response.body, /^cdc_events_published_total\{connector="pg-main"\} 42$/m);
    assert.match(response.body, /^cdc_capture_lag_bytes\{connector="pg-main"\} 4$/m);
  });

  void test('lag is exported in seconds, as Prometheus names base units', async () => {
    const { app } = await appWith(new FakeStatus());
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /^cdc_apply_lag_seconds\{replica="pg-replica"\} 0\.25$/m);
    assert.match(body, /^cdc_apply_hop_lag_seconds\{replica="pg-replica"\} 0\.2$/m);
    assert.match(body, /^cdc_apply_backlog_events\{replica="pg-replica"\} 3$/m);
    assert.match(body, /^cdc_capture_lag_seconds\{connector="pg-main"\} 0\.012$/m);
    assert.doesNotMatch(body, /_milliseconds/);
  });

  void test('a lag that is not known now (worker paused) drops its series instead of keeping a stale value', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    assert.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /^cdc_apply_lag_seconds\{/m);
    status.workerList = [worker({ state: 'paused', lagMillis: null })];
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(body, /^cdc_apply_lag_seconds\{/m);
    assert.doesNotMatch(body, /^cdc_apply_hop_lag_seconds\{/m);
    assert.doesNotMatch(body, /^cdc_apply_backlog_events\{/m);
  });

  void test('process metrics carry the cdc_ prefix once', async () => {
    const metrics = createMetrics({ processMetrics: true });
    const body = await metrics.render();
    assert.match(body, /^cdc_process_cpu_seconds_total \d/m);
    assert.match(body, /^cdc_nodejs_eventloop_lag_seconds \d/m);
    assert.doesNotMatch(body, /cdc_process_process_|cdc_process_nodejs_/);
  });

  void test('two apps in one process keep separate registries', async () => {
    const first = await appWith(new FakeStatus());
    const second = await appWith(new FakeStatus());
    first.metrics.applyEvents.inc({ replica: 'r' }, 5);
    const body = (await second.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(body, /cdc_apply_events_total\{replica="r"\}/);
  });
});

void describe('snapshots', () => {
  void test('POST /snapshots asks the connector and answers 202', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    const response = await app.inject({
      method: 'POST',
      url: '/snapshots',
      payload: { source: 'pg-main', tables: ['public.orders'] },
    });
    assert.equal(response.statusCode, 202);
    assert.deepEqual(response.json(), { source: 'pg-main', tables: ['public.orders'] });
    assert.deepEqual(status.snapshotRequests, [{ source: 'pg-main', tables: ['public.orders'] }]);
  });

  void test('an unknown source is a 404 naming it and the sources there are', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    const response = await app.inject({ method: 'POST', url: '/snapshots', payload: { source: 'nope' } });
    assert.equal(response.statusCode, 404);
    assert.deepEqual(errorOf(response.body), {
      code: 'NOT_FOUND',
      message: 'no source named "nope" (sources: pg-main)',
    });
    assert.deepEqual(status.snapshotRequests, []);
  });
});

void describe('pause and resume', () => {
  void test('POST /connectors/:name/pause pauses it and answers its status', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    const paused = await app.inject({ method: 'POST', url: '/connectors/pg-main/pause' });
    assert.equal(paused.statusCode, 200, paused.body);
    assert.equal(paused.json<{ name: string; state: string }>().state, 'paused');
    const listed = await app.inject({ method: 'GET', url: '/status' });
    assert.equal(listed.json<{ connectors: { state: string }[] }>().connectors[0]?.state, 'paused');
    const resumed = await app.inject({ method: 'POST', url: '/connectors/pg-main/resume' });
    assert.equal(resumed.json<{ state: string }>().state, 'streaming');
    assert.deepEqual(status.pauseRequests, [
      { kind: 'connector', name: 'pg-main', paused: true },
      { kind: 'connector', name: 'pg-main', paused: false },
    ]);
  });

  void test('POST /workers/:name/pause pauses an apply worker', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    const paused = await app.inject({ method: 'POST', url: '/workers/pg-replica/pause' });
    assert.equal(paused.statusCode, 200, paused.body);
    assert.equal(paused.json<{ state: string }>().state, 'paused');
    assert.deepEqual(status.pauseRequests, [{ kind: 'worker', name: 'pg-replica', paused: true }]);
  });

  void test('POST /connectors/:name/resnapshot answers 202 with the status showing the re-snapshot', async () => {
    const status = new FakeStatus();
    const { app } = await appWith(status);
    const answer = await app.inject({ method: 'POST', url: '/connectors/pg-main/resnapshot' });
    assert.equal(answer.statusCode, 202, answer.body);
    assert.equal(answer.json<{ resnapshot?: { state: string } }>().resnapshot?.state, 'running');
    assert.deepEqual(status.resnapshotRequests, ['pg-main']);
    const unknown = await app.inject({ method: 'POST', url: '/connectors/nope/resnapshot' });
    assert.equal(unknown.statusCode, 404);
  });

  void test('an unknown name is a 404 naming it', async () => {
    const { app } = await appWith(new FakeStatus());
    const response = await app.inject({ method: 'POST', url: '/workers/nope/pause' });
    assert.equal(response.statusCode, 404);
    assert.match(errorOf(response.body).message, /no apply worker named "nope"/);
  });
});

void describe('error handler', () => {
  void test('an invalid body is a 400 REQUEST_INVALID naming every wrong field', async () => {
    const { app } = await appWith(new FakeStatus());
    const response = await app.inject({
      method: 'POST',
      url: '/snapshots',
      payload: { tables: [1], extra: true },
    });
    assert.equal(response.statusCode, 400);
    const error = errorOf(response.body);
    assert.equal(error.code, 'REQUEST_INVALID');
    for (const part of [
      'body.source: is required',
      'body.extra: unknown key',
      'body.tables[0]: must be string',
    ]) {
      assert.ok(error.message.includes(part), `${part} missing from: ${error.message}`);
    }
  });

  void test('malformed JSON is a 400 REQUEST_INVALID', async () => {
    const { app } = await appWith(new FakeStatus());
    const response = await app.inject({
      method: 'POST',
      url: '/snapshots',
      headers: { 'content-type': 'application/json' },
      payload: '{"source":',
    });
    assert.equal(response.statusCode, 400);
    assert.equal(errorOf(response.body).code, 'REQUEST_INVALID');
  });

  void test('a CdcError answers with the status its code has in the catalog', async () => {
    const status = new FakeStatus();
    status.snapshotFailure = new CdcError('KAFKA_FENCED', 'another instance owns connector pg-main');
    const { app } = await appWith(status);
    const response = await app.inject({ method: 'POST', url: '/snapshots', payload: { source: 'pg-main' } });
    assert.equal(response.statusCode, 409);
    assert.deepEqual(errorOf(response.body), {
      code: 'KAFKA_FENCED',
      message: 'another instance owns connector pg-main',
    });
  });

  void test('an unexpected error is a 500 INTERNAL', async () => {
    const status = new FakeStatus();
    status.snapshotFailure = new TypeError('cannot read properties of undefined');
    const { app } = await appWith(status);
    const response = await app.inject({ method: 'POST', url: '/snapshots', payload: { source: 'pg-main' } });
    assert.equal(response.statusCode, 500);
    assert.deepEqual(errorOf(response.body), {
      code: 'INTERNAL',
      message: 'internal error: cannot read properties of undefined',
    });
  });

  void test('an unknown route is a 404 NOT_FOUND in the same shape', async () => {
    const { app } = await appWith(new FakeStatus());
    const response = await app.inject({ method: 'GET', url: '/nothing?x=1' });
    assert.equal(response.statusCode, 404);
    assert.deepEqual(errorOf(response.body), { code: 'NOT_FOUND', message: 'no route GET /nothing' });
  });
});
