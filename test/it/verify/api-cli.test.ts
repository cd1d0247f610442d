import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { verifyReplica, type VerifyReport } from '../../../services/verify/verify-replica.ts';
import { stack } from '../../support/stack.ts';
import { createDatabase, type TestDatabase } from './harness.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../../services/cli/main.ts');

void describe('verify through the API and the CLI', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  let configFile: string;
  let config: PipelineConfig;
  let app: FastifyInstance;

  before(async () => {
    source = await createDatabase('verify_api_src');
    target = await createDatabase('verify_api_dst');
    for (const db of [source, target]) {
      await db.query(`CREATE TABLE orders (id integer PRIMARY KEY, total numeric(10,2), note text)`);
      await db.query(`INSERT INTO orders SELECT g, g * 2.5, 'order ' || g FROM generate_series(1, 500) g`);
      await db.query(`CREATE TABLE items (sku text PRIMARY KEY, qty integer)`);
      await db.query(`INSERT INTO items VALUES ('a', 1), ('B', 2), ('ç', 3)`);
    }
    await source.query(`CREATE TABLE keyless (v text)`);
    const text = JSON.stringify({
      name: 'verify-test',
      kafka: { brokers: stack.kafkaBrokers },
      sources: [
        { name: 'main', kind: 'postgres', url: source.url, tables: ['public.orders', 'public.items'] },
      ],
      replicas: [{ name: 'copy', source: 'main', kind: 'postgres', url: target.url }],
    });
    config = parseConfig(text, 'json');
    dir = await mkdtemp(join(tmpdir(), 'verify-cli-'));
    configFile = join(dir, 'pipeline.json');
    await writeFile(configFile, text);
    app = await buildApp({
      status: {
        connectors: () => [],
        workers: () => [],
        requestSnapshot: async () => {},
        verify: (request) => verifyReplica(config, request),
      },
      metrics: createMetrics(),
      config,
    });
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
    await source.drop();
    await target.drop();
  });

  void test('POST /verify answers equal for an equal replica', async () => {
    const response = await app.inject({ method: 'POST', url: '/verify', payload: { replica: 'copy' } });
    assert.equal(response.statusCode, 200);
    const report = response.json<VerifyReport>();
    assert.equal(report.equal, true);
    assert.deepEqual(
      report.tables.map((table) => [table.table, table.sourceRows, table.equal]),
      [
        ['public.orders', 500, true],
        ['public.items', 3, true],
      ],
    );
  });

  void test('cdc verify exits 0 and says EQUAL', async () => {
    const { stdout } = await run(process.execPath, [
      CLI,
      'verify',
      '--config',
      configFile,
      '--replica',
      'copy',
    ]);
    assert.match(stdout, /replica copy vs source main: EQUAL/);
  });

  void test('a difference is named by the API and the CLI, which exits 1', async () => {
    await target.query(`UPDATE orders SET note = 'edited' WHERE id = 321`);
    await target.query(`DELETE FROM items WHERE sku = 'ç'`);
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/verify',
        payload: {
          replica: 'copy',
          source: 'main',
          tables: ['public.orders', 'public.keyless'],
          chunkRows: 100,
        },
      });
      assert.equal(response.statusCode, 200);
      const report = response.json<VerifyReport>();
      assert.equal(report.equal, false);
      assert.deepEqual(report.tables[0]?.differingRanges[0]?.differentRows, [{ id: '321' }]);
      assert.deepEqual(report.tables[0]?.differingRanges[0]?.from, { id: '300' });
      assert.equal(report.failures[0]?.table, 'public.keyless');
      assert.match(report.failures[0]?.message ?? '', /no primary key/);

      const failed = await run(process.execPath, [
        CLI,
        'verify',
        '--config',
        configFile,
        '--replica',
        'copy',
        '--chunk-rows',
        '100',
      ]).then(
        () => assert.fail('cdc verify should exit 1'),
        (error: unknown) => error as { code: number; stdout: string },
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stdout, /replica copy vs source main: DIFFERENT/);
      assert.match(
        failed.stdout,
        /range \(id="300" \.\. id="400"\]: 100 rows on the source, 100 on the replica/,
      );
      assert.match(failed.stdout, /different \(1\): id="321"/);
      assert.match(failed.stdout, /missing on the replica \(1\): sku="ç"/);
    } finally {
      await target.query(`UPDATE orders SET note = 'order 321' WHERE id = 321`);
      await target.query(`INSERT INTO items VALUES ('ç', 3)`);
    }
  });

  void test('an unknown replica is a 404 naming the configured ones', async () => {
    const response = await app.inject({ method: 'POST', url: '/verify', payload: { replica: 'nope' } });
    assert.equal(response.statusCode, 404);
    assert.match(
      response.json<{ error: { message: string } }>().error.message,
      /no replica named "nope" \(replicas: copy\)/,
    );
  });
});
