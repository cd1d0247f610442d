/**
 * The control API over HTTPS (`api.tls`): a certificate made for the test by an authority of its own
 * (stack/lib/tls.sh, openssl), the CLI trusting that authority through NODE_EXTRA_CA_CERTS, and a client
 * that does not trust it refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../services/api/app.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { FakeStatus } from './fake-status.ts';

const root = join(import.meta.dirname, '..', '..', '..');
let dir = '';
let app: FastifyInstance | null = null;
let url = '';
const TOKEN = 't'.repeat(32);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdc-api-tls-'));
  execFileSync('bash', [
    '-c',
    `. "${root}/stack/lib/tls.sh" && tls_authority "$1/ca" 'api test authority' && tls_certificate "$1/ca" "$1/api" 127.0.0.1 'IP:127.0.0.1' && tls_authority "$1/other" 'other authority'`,
    'make-certificates',
    dir,
  ]);
  const config = parseConfig(
    JSON.stringify({
      name: 'tls',
      kafka: { brokers: ['127.0.0.1:9092'] },
      sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://u@h/db' }],
      api: {
        host: '127.0.0.1',
        port: 0,
        tokens: [{ name: 'ops', token: TOKEN, scope: 'admin' }],
        tls: { certFile: join(dir, 'api.pem'), keyFile: join(dir, 'api.key') },
      },
    }),
    'json',
  );
  app = await buildApp({ status: new FakeStatus(), metrics: createMetrics(), config });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, ca: string): Promise<{ status: number; error: string | null }> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { ca: readFileSync(ca) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: null }));
    });
    req.on('error', (error) =>
      resolve({ status: 0, error: (error as NodeJS.ErrnoException).code ?? error.message }),
    );
    req.end();
  });
}

void test('the API listens on https and answers a client trusting its authority', async () => {
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await get('/health', join(dir, 'ca.pem')), { status: 200, error: null });
});

void test('a client trusting another authority is refused by its own TLS check', async () => {
  const answer = await get('/health', join(dir, 'other.pem'));
  assert.equal(answer.status, 0);
  assert.match(answer.error ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
});

void test('the CLI reaches it with NODE_EXTRA_CA_CERTS and CDC_API_TOKEN', async () => {
  const outcome = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const { CDC_API_TOKEN: _ignored, ...inherited } = process.env;
    execFile(
      process.execPath,
      [join(root, 'services/cli/main.ts'), 'status', '--api', url],
      {
        env: { ...inherited, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), CDC_API_TOKEN: TOKEN },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        }),
    );
  });
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /pg-main/);
});
