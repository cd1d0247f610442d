import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../../services/config/load.ts';

const examplesDir = join(import.meta.dirname, '../../../examples');

void test('every example pipeline validates, with and without its environment variables set', async () => {
  const files = (await readdir(examplesDir)).filter((file) => /\.(ya?ml|json)$/.test(file));
  assert.ok(files.includes('demo-postgres.yaml'), `examples: ${files.join(', ')}`);
  assert.ok(
    files.some((file) => /mariadb/.test(file)),
    `no MariaDB example among ${files.join(', ')}`,
  );
  for (const file of files) {
    const config = await loadConfig(join(examplesDir, file), { env: {} });
    assert.ok(config.sources.length > 0, file);
    const withEnv = await loadConfig(join(examplesDir, file), {
      env: { CDC_API_PORT: '9999', PGPASSWORD: 'pw', MARIADB_PASSWORD: 'pw' },
    });
    assert.equal(withEnv.api.port, 9999, file);
  }
});
