import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { renderSections } from '../../../services/docs/readme.ts';

test('README.md carries the current configuration reference and error codes (npm run docs updates them)', async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, renderSections(readme));
});
