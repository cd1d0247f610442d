import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NODE_HEAP_FLAGS } from '../../../common/heap-tuning.ts';

const root = new URL('../../../', import.meta.url);
const scripts = (
  JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }
).scripts;

void test('the npm scripts that run the service or measure it start node with the heap flags', () => {
  for (const name of ['cdc', 'bench', 'bench:scale']) {
    assert.ok(
      scripts[name]?.startsWith(`node ${NODE_HEAP_FLAGS.join(' ')} `),
      `npm run ${name} (${scripts[name]}) lacks ${NODE_HEAP_FLAGS.join(' ')}`,
    );
  }
});

void test('the heap flags are ones node accepts at start', () => {
  const run = spawnSync(process.execPath, [...NODE_HEAP_FLAGS, '-e', ''], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
});
