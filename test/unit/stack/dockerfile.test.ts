// The Dockerfile and the compose service built from it, checked statically (no Docker engine here): what it
// copies exists, it runs our CLI as package.json's `bin` does, as a user other than root, and its port and
// health check agree with docker-compose.yml.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { NODE_HEAP_FLAGS } from '../../../common/heap-tuning.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** Instructions of the Dockerfile, continuation lines joined. */
function instructions(): { op: string; args: string }[] {
  return read('Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const all = (op: string) => instructions().filter((i) => i.op === op);
const one = (op: string): string => {
  const found = all(op);
  assert.ok(found.length >= 1, `the Dockerfile has no ${op}`);
  return (found.at(-1) as { args: string }).args;
};

void test('the image is Node 24 slim, installs production dependencies with npm ci and runs as non-root', () => {
  assert.match(one('FROM'), /^node:24[\w.-]*-slim$/);
  assert.ok(all('RUN').some((run) => /npm ci --omit=dev/.test(run.args)));
  assert.notEqual(one('USER'), 'root');
  assert.notEqual(one('USER'), '0');
});

void test('every path it copies exists in the repository', () => {
  for (const copy of all('COPY')) {
    const parts = copy.args.split(/\s+/);
    for (const path of parts.slice(0, -1))
      assert.ok(existsSync(new URL(path, root)), `COPY ${path}: no such file`);
  }
});

void test('the entrypoint is the cdc CLI of package.json, started with the heap flags', () => {
  const bin = (JSON.parse(read('package.json')) as { bin: { cdc: string } }).bin.cdc.replace(/^\.\//, '');
  const entrypoint = JSON.parse(one('ENTRYPOINT')) as string[];
  assert.deepEqual(entrypoint, ['node', ...NODE_HEAP_FLAGS, `/app/${bin}`]);
  assert.deepEqual(JSON.parse(one('CMD')), ['run', '--config', '/config/pipeline.yaml']);
});

void test('the exposed port, the health check and the compose service agree', () => {
  const port = one('EXPOSE');
  assert.match(one('HEALTHCHECK'), /\/health/);
  assert.match(one('HEALTHCHECK'), new RegExp(`'${port}'`));
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<
      string,
      {
        build?: string;
        command?: string[];
        ports?: string[];
        environment?: Record<string, string>;
        volumes?: string[];
      }
    >;
  };
  const cdc = compose.services.cdc;
  assert.ok(cdc, 'docker-compose.yml has no cdc service');
  assert.equal(cdc.build, '.', 'the cdc service is built from the Dockerfile');
  assert.deepEqual(cdc.command, JSON.parse(one('CMD')));
  assert.equal(cdc.environment?.CDC_API_PORT, port);
  assert.ok(
    cdc.ports?.some((mapping) => mapping.endsWith(`:${port}:${port}`)),
    'the API port is published',
  );
  assert.ok(cdc.volumes?.some((volume) => volume.endsWith(':/config/pipeline.yaml:ro')));
  assert.ok(!cdc.volumes?.some((volume) => volume.startsWith('.:')), 'the image holds the sources: no mount');
});
