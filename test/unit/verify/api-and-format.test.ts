import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
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
});
