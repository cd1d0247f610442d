/**
 * Every route of the control API under bearer tokens: no token, a wrong token, a read token on an admin
 * route, and a good token. The table of routes is checked against the OpenAPI document, so a route added
 * later cannot escape this test without a scope.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import type { ApiAccess } from '../../../services/api/access.ts';
import type { DeadLetterControl, ReplayProgress } from '../../../services/dlq/dlq-control.ts';
import type { ConflictLister } from '../../../services/pipeline/conflict-list.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { FakeStatus } from './fake-status.ts';

const READ_TOKEN = 'read-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const TOKENS: ApiAccess['tokens'] = [
  { name: 'grafana', token: READ_TOKEN, scope: 'read' },
  { name: 'ops', token: ADMIN_TOKEN, scope: 'admin' },
];

interface Route {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly scope: 'probe' | 'read' | 'admin';
  readonly body?: object;
}

const ROUTES: readonly Route[] = [
  { method: 'GET', url: '/health', scope: 'probe' },
  { method: 'GET', url: '/ready', scope: 'probe' },
  { method: 'GET', url: '/status', scope: 'read' },
  { method: 'GET', url: '/metrics', scope: 'read' },
  { method: 'GET', url: '/config', scope: 'read' },
  { method: 'GET', url: '/dlq', scope: 'read' },
  { method: 'GET', url: '/dlq/replay?replica=pg-replica', scope: 'read' },
  { method: 'GET', url: '/conflicts', scope: 'read' },
  { method: 'GET', url: '/replicas?maxLagMs=1000', scope: 'read' },
  { method: 'GET', url: '/replicas/pg-replica/wait?position=0/16B3748&timeoutMs=1', scope: 'read' },
  { method: 'GET', url: '/docs/json', scope: 'read' },
  { method: 'GET', url: '/jobs', scope: 'read' },
  { method: 'GET', url: '/jobs/nope', scope: 'read' },
  { method: 'GET', url: '/events?count=1', scope: 'read' },
  { method: 'POST', url: '/snapshots', scope: 'admin', body: { source: 'pg-main' } },
  { method: 'POST', url: '/verify', scope: 'admin', body: { replica: 'pg-replica' } },
  { method: 'POST', url: '/jobs/verify', scope: 'admin', body: { replica: 'pg-replica' } },
  { method: 'POST', url: '/connectors/pg-main/pause', scope: 'admin' },
  { method: 'POST', url: '/connectors/pg-main/resume', scope: 'admin' },
  { method: 'POST', url: '/connectors/pg-main/resnapshot', scope: 'admin' },
  { method: 'POST', url: '/workers/pg-replica/pause', scope: 'admin' },
  { method: 'POST', url: '/workers/pg-replica/resume', scope: 'admin' },
  { method: 'POST', url: '/dlq/replay', scope: 'admin', body: { replica: 'pg-replica' } },
];

const PROGRESS: ReplayProgress = {
  replica: 'pg-replica',
  state: 'running',
  from: '0',
  upTo: '1',
  replayed: 0,
  skipped: 0,
  failed: 0,
  lastError: null,
} as unknown as ReplayProgress;

const dlq: DeadLetterControl = {
  list: (request) =>
    Promise.resolve({
      replica: request.replica ?? 'pg-replica',
      topic: 'p.pg-main.dlq',
      low: '0',
      high: '0',
      replayFrom: '0',
      next: null,
      entries: [],
    }),
  replay: () => Promise.resolve(PROGRESS),
  replayStatus: () => PROGRESS,
  close: () => Promise.resolve(),
};
const conflicts: ConflictLister = { list: () => Promise.resolve({ entries: [], next: null }) };

const config = parseConfig(
  JSON.stringify({
    name: 'demo',
    kafka: { brokers: ['127.0.0.1:9092'] },
    sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://u:p@h/db', tables: ['public.*'] }],
    replicas: [{ name: 'pg-replica', source: 'pg-main', kind: 'postgres', url: 'postgres://u:p@h/r' }],
  }),
  'json',
);

const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function appWith(access: ApiAccess): Promise<FastifyInstance> {
  const app = await buildApp({
    status: new FakeStatus(),
    metrics: createMetrics(),
    config,
    dlq,
    conflicts,
    access,
  });
  apps.push(app);
  return app;
}

function request(route: Route, token?: string): InjectOptions {
  return {
    method: route.method,
    url: route.url,
    ...(route.body === undefined ? {} : { payload: route.body }),
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  };
}

function errorCode(body: string): string {
  return (JSON.parse(body) as { error: { code: string } }).error.code;
}

void describe('control API access', async () => {
  const open = await appWith({ tokens: [], openProbes: true });
  const guarded = await appWith({ tokens: TOKENS, openProbes: true });
  const closedProbes = await appWith({ tokens: TOKENS, openProbes: false });

  void test('the table below lists every route of the API', async () => {
    const document = await open.inject({ method: 'GET', url: '/docs/json' });
    const documented = document.json<{ paths: Record<string, object> }>().paths;
    assert.ok(Object.keys(documented).length >= 10, 'the document lists the routes');
    const listed = new Set(ROUTES.map((r) => `${r.method} ${r.url.split('?')[0] ?? ''}`));
    for (const [path, methods] of Object.entries(documented)) {
      for (const method of Object.keys(methods)) {
        const concrete = path
          .replace('{name}', path.startsWith('/connectors') ? 'pg-main' : 'pg-replica')
          .replace('{id}', 'nope');
        assert.ok(listed.has(`${method.toUpperCase()} ${concrete}`), `${method} ${path} has no row here`);
      }
    }
  });

  for (const route of ROUTES) {
    const name = `${route.method} ${route.url}`;

    void test(`${name}: without a token`, async () => {
      const response = await guarded.inject(request(route));
      if (route.scope === 'probe') {
        assert.notEqual(response.statusCode, 401, 'probes stay open with openProbes');
        const closed = await closedProbes.inject(request(route));
        assert.equal(closed.statusCode, 401, 'probes need a token without openProbes');
        return;
      }
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response.body), 'API_UNAUTHORIZED');
      assert.match(response.headers['www-authenticate'] as string, /^Bearer/);
      assert.match(response.body, /Authorization: Bearer/);
    });

    void test(`${name}: with a wrong token`, async () => {
      const response = await closedProbes.inject(request(route, `${ADMIN_TOKEN}x`));
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response.body), 'API_UNAUTHORIZED');
      assert.doesNotMatch(response.body, new RegExp(ADMIN_TOKEN));
    });

    void test(`${name}: with a read token`, async () => {
      const response = await closedProbes.inject(request(route, READ_TOKEN));
      if (route.scope === 'admin') {
        assert.equal(response.statusCode, 403);
        assert.equal(errorCode(response.body), 'API_FORBIDDEN');
        assert.match(response.body, /needs an admin token; \\"grafana\\" may only read/);
      } else {
        const answer = await open.inject(request(route));
        assert.equal(response.statusCode, answer.statusCode, 'answers as the open API does');
      }
    });

    void test(`${name}: with an admin token, answers as the open API does`, async () => {
      const response = await closedProbes.inject(request(route, ADMIN_TOKEN));
      const answer = await open.inject(request(route));
      assert.ok(response.statusCode !== 401 && response.statusCode !== 403, response.body);
      assert.equal(response.statusCode, answer.statusCode);
    });
  }

  void test('the dashboard files hold no data and are served without a token, under a strict CSP', async () => {
    for (const url of ['/ui', '/ui/app.js', '/ui/style.css']) {
      const response = await closedProbes.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
    }
  });

  void test('an unknown route without a token is refused before it is looked up', async () => {
    const response = await guarded.inject({ method: 'GET', url: '/nothing-here' });
    assert.equal(response.statusCode, 401);
  });
});
