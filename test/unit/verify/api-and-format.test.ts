import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { CdcError } from '../../../common/errors.ts';
import type { StatusProvider } from '../../../services/api/status-types.ts';
import { formatVerifyReport } from '../../../services/cli/verify-format.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import type { VerifyReport } from '../../../services/verify/verify-replica.ts';

const REPORT: VerifyReport = {
  source: 'shop',
  replica: 'copy',
  equal: false,
  durationMs: 1234,
  failures: [
    { table: 'shop.logs', code: 'VERIFY_TABLE_INVALID', message: 'table shop.logs has no primary key' },
  ],
  tables: [
    {
      table: 'shop.orders',
      targetTable: 'shop.orders',
      chunks: 3,
      sourceRows: 250,
      targetRows: 250,
      equal: false,
      rechecks: 1,
      durationMs: 20,
      columnsMissingOnTarget: [],
      columnsNotCompared: [],
      differingRanges: [
        {
          from: { id: '100' },
          to: { id: '200' },
          sourceRows: 100,
          targetRows: 100,
          missingOnTarget: [{ id: '150' }],
          extraOnTarget: [{ id: '151' }],
          differentRows: [{ id: '160' }],
          missingCount: 1,
          extraCount: 1,
          differentCount: 3,
        },
      ],
    },
  ],
};

const apps: FastifyInstance[] = [];

/** Waits for a condition of this process's own state (no clock involved: it changes within a few turns). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn > 1_000) assert.fail('the condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function appWith(verify?: StatusProvider['verify']): Promise<FastifyInstance> {
  const status: StatusProvider = {
    connectors: () => [],
    workers: () => [],
    requestSnapshot: async () => {},
    ...(verify ? { verify } : {}),
  };
  const app = await buildApp({ status, metrics: createMetrics() });
  apps.push(app);
  return app;
}

void describe('POST /verify', () => {
  void test('answers the report of the request it passed on', async () => {
    const seen: unknown[] = [];
    const app = await appWith((request) => {
      seen.push(request);
      return Promise.resolve(REPORT);
    });
    const response = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: { replica: 'copy', tables: ['shop.orders'], chunkRows: 50 },
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), REPORT);
    assert.deepEqual(seen, [{ replica: 'copy', tables: ['shop.orders'], chunkRows: 50 }]);
  });

  void test('a bad body is a 400 naming the field', async () => {
    const app = await appWith(() => Promise.resolve(REPORT));
    const response = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: { replica: 'copy', chunkRows: 0 },
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ error: { message: string } }>().error.message, /chunkRows/);
  });

  void test('chunkRows above the limit is a 400 naming the limit', async () => {
    const app = await appWith(() => Promise.resolve(REPORT));
    const response = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: { replica: 'copy', chunkRows: 5_000_000 },
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ error: { message: string } }>().error.message, /chunkRows.*1000000/);
  });

  void test('one comparison more than api.verifyConcurrency is answered 429 at once, and runs once one ended', async () => {
    const running: PromiseWithResolvers<typeof REPORT>[] = [];
    const app = await appWith(() => {
      const run = Promise.withResolvers<typeof REPORT>();
      running.push(run);
      return run.promise;
    });
    const request = { method: 'POST', url: '/verify', payload: { replica: 'copy' } } as const;
    const first = app.inject(request);
    // The second is only sent once the first reached the comparison, so it finds it running.
    await waitFor(() => running.length === 1);
    const second = await app.inject(request);
    assert.equal(second.statusCode, 429);
    assert.equal(second.json<{ error: { code: string } }>().error.code, 'API_BUSY');
    assert.match(
      second.json<{ error: { message: string } }>().error.message,
      /1 verify run is already running/,
    );
    running[0]?.resolve(REPORT);
    assert.equal((await first).statusCode, 200);
    const third = app.inject(request);
    await waitFor(() => running.length === 2);
    running[1]?.resolve(REPORT);
    assert.equal((await third).statusCode, 200);
  });

  void test('POST /jobs/verify answers 202 with a job at once; GET /jobs/:id shows its progress, then its report', async () => {
    const run = Promise.withResolvers<typeof REPORT>();
    let report: ((progress: { done: number; total: number }) => void) | undefined;
    const app = await appWith((_request, options) => {
      report = options?.onProgress;
      return run.promise;
    });
    const started = await app.inject({ method: 'POST', url: '/jobs/verify', payload: { replica: 'copy' } });
    assert.equal(started.statusCode, 202);
    const job = started.json<{ id: string; state: string; kind: string }>();
    assert.equal(job.state, 'running');
    assert.equal(job.kind, 'verify');
    const view = async () =>
      (await app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json<Record<string, unknown>>();
    await waitFor(() => report !== undefined);
    report?.({ done: 1, total: 3 });
    assert.deepEqual((await view()).progress, { done: 1, total: 3 });
    const busy = await app.inject({ method: 'POST', url: '/verify', payload: { replica: 'copy' } });
    assert.equal(busy.statusCode, 429, 'a job counts against api.verifyConcurrency');
    run.resolve(REPORT);
    let ended: Record<string, unknown> = {};
    for (let turn = 0; turn < 1_000 && ended.state !== 'done'; turn++) {
      ended = await view();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(ended.state, 'done');
    assert.deepEqual(ended.result, REPORT);
    assert.equal(ended.error, null);
    const listed = (await app.inject({ method: 'GET', url: '/jobs' })).json<{ jobs: { id: string }[] }>();
    assert.deepEqual(
      listed.jobs.map((j) => j.id),
      [job.id],
    );
  });

  void test('a job whose comparison fails ends failed with the code and message; an unknown job is 404', async () => {
    const app = await appWith(() => Promise.reject(new CdcError('NOT_FOUND', 'no replica named "copy"')));
    const job = (
      await app.inject({ method: 'POST', url: '/jobs/verify', payload: { replica: 'copy' } })
    ).json<{
      id: string;
    }>();
    let ended: Record<string, unknown> = {};
    for (let turn = 0; turn < 1_000 && ended.state !== 'failed'; turn++) {
      ended = (await app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(ended.error, { code: 'NOT_FOUND', message: 'no replica named "copy"' });
    const unknown = await app.inject({ method: 'GET', url: '/jobs/0000' });
    assert.equal(unknown.statusCode, 404);
  });

  void test('a process without database access answers 501', async () => {
    const app = await appWith();
    const response = await app.inject({ method: 'POST', url: '/verify', payload: { replica: 'copy' } });
    assert.equal(response.statusCode, 501);
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'OPERATION_UNSUPPORTED');
  });
});

void describe('verify report text', () => {
  void test('names every table, range and key, and counts keys beyond the listed ones', () => {
    const text = formatVerifyReport(REPORT);
    assert.match(text, /replica copy vs source shop: DIFFERENT \(0 of 2 tables equal\)/);
    assert.match(text, /shop\.orders\s+3\s+250\s+250\s+1\s+DIFFERENT/);
    assert.match(text, /shop\.logs .*NOT VERIFIED/);
    assert.match(text, /range \(id="100" \.\. id="200"\]: 100 rows on the source, 100 on the replica/);
    assert.match(text, /missing on the replica \(1\): id="150"/);
    assert.match(text, /extra on the replica \(1\): id="151"/);
    assert.match(text, /different \(3\): id="160" \(and 2 more\)/);
    assert.match(text, /shop\.logs: table shop\.logs has no primary key/);
  });

  void test('names the columns not compared because capture leaves them out or masks them', () => {
    const [orders] = REPORT.tables;
    assert.ok(orders !== undefined);
    const text = formatVerifyReport({
      ...REPORT,
      tables: [{ ...orders, equal: true, differingRanges: [], columnsNotCompared: ['email', 'ssn'] }],
    });
    assert.match(text, /shop\.orders: not compared \(left out or masked at capture\): email, ssn/);
  });
});
