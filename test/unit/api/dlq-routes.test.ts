/**
 * The dead-letter routes over an in-memory DeadLetterControl: what reaches the control from a request, the
 * answers' shapes and status codes, and the errors a caller gets for a bad request. The real control (Kafka,
 * a replica) is exercised end to end in test/it/dlq/.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { CdcError } from '../../../common/errors.ts';
import type {
  DeadLetterControl,
  DeadLetterListRequest,
  DeadLetterPage,
  ReplayProgress,
} from '../../../services/dlq/dlq-control.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { FakeStatus } from './fake-status.ts';

const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const PROGRESS: ReplayProgress = {
  replica: 'dst',
  state: 'running',
  from: '2',
  until: '5',
  next: '2',
  replayed: 0,
  alreadyReplayed: 0,
  otherReplicas: 0,
  error: null,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
};

class FakeControl implements DeadLetterControl {
  readonly lists: DeadLetterListRequest[] = [];
  readonly replays: (string | undefined)[] = [];
  progress: ReplayProgress | null = null;

  list(request: DeadLetterListRequest): Promise<DeadLetterPage> {
    this.lists.push(request);
    if (request.replica === 'nope')
      return Promise.reject(new CdcError('NOT_FOUND', 'no replica named "nope"'));
    return Promise.resolve({
      replica: request.replica ?? 'dst',
      topic: 'p.src.dlq',
      low: '0',
      high: '5',
      replayFrom: '2',
      next: null,
      entries: [
        {
          offset: '3',
          at: '2026-01-01T00:00:00.000Z',
          table: 'public.items',
          op: 'c',
          position: 'pg:0/16B2C280#0',
          code: 'APPLY_FAILED',
          reason: 'violates check constraint "items_qty_small"',
          source: 'p.src.changes/0@8',
          replayed: false,
        },
      ],
    });
  }

  replay(replica?: string): Promise<ReplayProgress> {
    this.replays.push(replica);
    this.progress = PROGRESS;
    return Promise.resolve(PROGRESS);
  }

  replayStatus(): ReplayProgress | null {
    return this.progress;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function appWith(control: DeadLetterControl): Promise<FastifyInstance> {
  const app = await buildApp({ status: new FakeStatus([]), metrics: createMetrics(), dlq: control });
  apps.push(app);
  return app;
}

test('GET /dlq hands replica, table, offset and limit to the control and answers the page', async () => {
  const control = new FakeControl();
  const app = await appWith(control);
  const response = await app.inject({
    method: 'GET',
    url: '/dlq?replica=dst&table=public.items&from=3&limit=10',
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(control.lists, [{ replica: 'dst', table: 'public.items', from: 3n, limit: 10 }]);
  const page = response.json<DeadLetterPage>();
  assert.equal(page.entries[0]?.reason, 'violates check constraint "items_qty_small"');
});

test('GET /dlq refuses an offset or limit that is not a number, naming the field', async () => {
  const app = await appWith(new FakeControl());
  for (const query of ['from=-1', 'limit=0', 'limit=ten', 'other=1']) {
    const response = await app.inject({ method: 'GET', url: `/dlq?${query}` });
    assert.equal(response.statusCode, 400, query);
    const { error } = response.json<{ error: { code: string; message: string } }>();
    assert.equal(error.code, 'REQUEST_INVALID');
    assert.match(error.message, new RegExp(query.split('=')[0]!));
  }
});

test('GET /dlq for an unknown replica is 404', async () => {
  const app = await appWith(new FakeControl());
  const response = await app.inject({ method: 'GET', url: '/dlq?replica=nope' });
  assert.equal(response.statusCode, 404);
});

test('POST /dlq/replay starts a replay (202 with its progress); GET /dlq/replay follows it', async () => {
  const control = new FakeControl();
  const app = await appWith(control);
  const before = await app.inject({ method: 'GET', url: '/dlq/replay' });
  assert.equal(before.statusCode, 404, 'nothing to follow before a replay started');

  const started = await app.inject({ method: 'POST', url: '/dlq/replay', payload: { replica: 'dst' } });
  assert.equal(started.statusCode, 202, started.body);
  assert.deepEqual(started.json(), PROGRESS);
  assert.deepEqual(control.replays, ['dst']);

  const followed = await app.inject({ method: 'GET', url: '/dlq/replay?replica=dst' });
  assert.equal(followed.statusCode, 200);
  assert.equal(followed.json<ReplayProgress>().next, '2');
});

test('POST /dlq/replay with a body that is not {"replica": name} is refused', async () => {
  const app = await appWith(new FakeControl());
  const response = await app.inject({ method: 'POST', url: '/dlq/replay', payload: { replica: 7 } });
  assert.equal(response.statusCode, 400);
  assert.equal(response.json<{ error: { code: string } }>().error.code, 'REQUEST_INVALID');
});
