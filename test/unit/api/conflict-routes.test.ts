/**
 * `GET /conflicts` over an in-memory lister: what a request's filters become, the answer's shape, and the
 * errors a caller gets for a bad filter. Reading real conflict tables is tested in test/it/convergence/.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { CdcError } from '../../../common/errors.ts';
import type {
  ConflictLister,
  ConflictPage,
  ConflictQuery,
} from '../../../services/pipeline/conflict-list.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { FakeStatus } from './fake-status.ts';

const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const PAGE: ConflictPage = {
  entries: [
    {
      id: '7',
      replica: 'a-to-b',
      detectedAt: '2026-05-01T10:00:00.123456Z',
      table: 'public.items',
      key: { id: '42' },
      kind: 'update_differs',
      policy: 'last_writer_wins',
      outcome: 'applied_remote',
      local: { id: '42', n: 1 },
      remote: { id: '42', n: 2 },
      localOrigin: null,
      remoteOrigin: 'a',
      localCommitTs: '2026-05-01T09:59:59.000001Z',
      remoteCommitTs: '2026-05-01T10:00:00.000002Z',
    },
  ],
  next: '0.7',
};

async function appWith(): Promise<{ app: FastifyInstance; queries: ConflictQuery[] }> {
  const queries: ConflictQuery[] = [];
  const conflicts: ConflictLister = {
    list(query) {
      queries.push(query);
      if (query.replica === 'nope')
        return Promise.reject(new CdcError('NOT_FOUND', 'no replica named "nope"'));
      return Promise.resolve(PAGE);
    },
  };
  const app = await buildApp({ status: new FakeStatus(), metrics: createMetrics(), conflicts });
  apps.push(app);
  return { app, queries };
}

test('GET /conflicts hands every filter to the lister and answers the page as it is', async () => {
  const { app, queries } = await appWith();
  const response = await app.inject({
    method: 'GET',
    url: '/conflicts?replica=a-to-b&table=public.items&since=2026-05-01T00:00:00Z&until=2026-05-02&policy=last_writer_wins&kind=update_differs&cursor=0.3&limit=20',
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(response.json(), PAGE);
  assert.deepEqual(queries, [
    {
      replica: 'a-to-b',
      table: 'public.items',
      since: new Date('2026-05-01T00:00:00Z'),
      until: new Date('2026-05-02T00:00:00Z'),
      policy: 'last_writer_wins',
      kind: 'update_differs',
      cursor: '0.3',
      limit: 20,
    },
  ]);
});

test('GET /conflicts without filters asks for the first 100', async () => {
  const { app, queries } = await appWith();
  const response = await app.inject({ method: 'GET', url: '/conflicts' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(queries, [{ limit: 100 }]);
});

test('GET /conflicts refuses a bad filter naming the field', async () => {
  const { app, queries } = await appWith();
  const cases: [string, RegExp][] = [
    ['kind=insert_insert', /querystring\.kind: must be equal to one of the allowed values/],
    ['since=yesterday', /querystring\.since: must match pattern/],
    ['limit=0', /querystring\.limit: must match pattern/],
    ['cursor=abc', /querystring\.cursor: must match pattern/],
    ['colour=red', /querystring\.colour: unknown key/],
  ];
  for (const [search, message] of cases) {
    const response = await app.inject({ method: 'GET', url: `/conflicts?${search}` });
    assert.equal(response.statusCode, 400, search);
    const body = response.json<{ error: { code: string; message: string } }>();
    assert.equal(body.error.code, 'REQUEST_INVALID', search);
    assert.match(body.error.message, message, search);
  }
  assert.deepEqual(queries, []);
});

test("GET /conflicts of an unknown replica answers 404 with the lister's words", async () => {
  const { app } = await appWith();
  const response = await app.inject({ method: 'GET', url: '/conflicts?replica=nope' });
  assert.equal(response.statusCode, 404);
  assert.deepEqual(response.json(), { error: { code: 'NOT_FOUND', message: 'no replica named "nope"' } });
});

test('a process without the configuration serves no /conflicts', async () => {
  const app = await buildApp({ status: new FakeStatus(), metrics: createMetrics() });
  apps.push(app);
  const response = await app.inject({ method: 'GET', url: '/conflicts' });
  assert.equal(response.statusCode, 404);
});
