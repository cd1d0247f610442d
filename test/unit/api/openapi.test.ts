/**
 * The OpenAPI document at /docs/json: every route of the API is in it with a summary and the schema of its
 * answer, it is what the routes validate with, and Swagger UI is served from /docs without internet.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import type { DeadLetterControl } from '../../../services/dlq/dlq-control.ts';
import type { ConflictLister } from '../../../services/pipeline/conflict-list.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { FakeStatus } from './fake-status.ts';

interface Operation {
  readonly summary?: string;
  readonly responses?: Record<string, { readonly content?: Record<string, { schema?: unknown }> }>;
  readonly requestBody?: unknown;
}
interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Record<string, Record<string, Operation>>;
}

/** Stands in for a part whose routes this test lists but never calls. */
function notCalled<T extends object>(): T {
  return new Proxy({} as T, {
    get: () => () => {
      throw new Error('not called by this test');
    },
  });
}

const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function fullApp(): Promise<FastifyInstance> {
  const config = parseConfig(
    JSON.stringify({
      name: 'docs',
      kafka: { brokers: ['127.0.0.1:59092'] },
      sources: [{ name: 'pg', kind: 'postgres', url: 'postgres://app:pw@db/shop' }],
    }),
    'json',
    { env: {} },
  );
  const app = await buildApp({
    status: new FakeStatus(),
    metrics: createMetrics(),
    config,
    dlq: notCalled<DeadLetterControl>(),
    conflicts: notCalled<ConflictLister>(),
  });
  apps.push(app);
  return app;
}

const EXPECTED = [
  'GET /health',
  'GET /ready',
  'GET /status',
  'GET /metrics',
  'POST /connectors/{name}/pause',
  'POST /connectors/{name}/resume',
  'POST /connectors/{name}/resnapshot',
  'POST /workers/{name}/pause',
  'POST /workers/{name}/resume',
  'POST /snapshots',
  'POST /verify',
  'POST /jobs/verify',
  'GET /jobs',
  'GET /jobs/{id}',
  'GET /config',
  'GET /dlq',
  'POST /dlq/replay',
  'GET /dlq/replay',
  'GET /conflicts',
  'GET /replicas',
  'GET /replicas/{name}/wait',
  'GET /events',
];

void test('/docs/json lists every route with a summary and the schema of its answer', async () => {
  const app = await fullApp();
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(response.statusCode, 200);
  const doc = response.json<OpenApiDocument>();
  assert.match(doc.openapi, /^3\.1\./);
  assert.equal(doc.info.title, 'cdc control API');
  const listed = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual([...listed].sort(), [...EXPECTED].sort());
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok((operation.summary ?? '').length > 10, `${where} has no summary`);
      assert.ok(app.hasRoute({ method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1') }));
      if (path === '/metrics') continue;
      if (path === '/events') {
        assert.ok(
          operation.responses?.['200']?.content?.['text/event-stream']?.schema,
          `${where} documents no event`,
        );
        continue;
      }
      const success = operation.responses?.['200'] ?? operation.responses?.['202'];
      assert.ok(success?.content?.['application/json']?.schema, `${where} documents no answer`);
    }
  }
  // What the document says a request takes is what the route checks: /snapshots needs a source.
  assert.ok(doc.paths['/snapshots']?.post?.requestBody);
  const refused = await app.inject({ method: 'POST', url: '/snapshots', payload: {} });
  assert.equal(refused.statusCode, 400);
});

void test('README lists every route of the document', async () => {
  const app = await fullApp();
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApiDocument>();
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const path of Object.keys(doc.paths)) {
    const written = path.replace(/\{(\w+)\}/g, ':$1').replace(/\/(pause|resume)$/, '/pause');
    assert.ok(readme.includes(written), `README's Control API section does not mention ${path}`);
  }
});

void test('/docs serves Swagger UI from the package, and /docs/yaml the document as YAML', async () => {
  const app = await fullApp();
  const entry = await app.inject({ method: 'GET', url: '/docs' });
  const location = entry.statusCode === 302 ? String(entry.headers.location) : '/docs';
  const page = await app.inject({ method: 'GET', url: new URL(location, 'http://api/docs/').pathname });
  assert.equal(page.statusCode, 200, `GET ${location} answered ${page.statusCode}`);
  assert.match(page.headers['content-type'] ?? '', /text\/html/);
  assert.match(page.body, /swagger-ui/i);
  const yaml = await app.inject({ method: 'GET', url: '/docs/yaml' });
  assert.equal(yaml.statusCode, 200);
  assert.match(yaml.body, /^openapi: 3\.1\./m);
});
