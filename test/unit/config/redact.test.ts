import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import { collectSecrets, redactConfig, redactText } from '../../../services/config/redact.ts';

const config = parseConfig(
  JSON.stringify({
    name: 'demo',
    kafka: {
      brokers: ['127.0.0.1:59092'],
      schemaRegistry: { url: 'https://registry:r3g%2Fpass@sr.example:8081' },
    },
    sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://app:${PGPASSWORD}@db:5432/shop' }],
    replicas: [
      { name: 'maria', source: 'pg-main', kind: 'mariadb', url: 'mysql://root:t0ps3cret@replica:3306/shop' },
    ],
  }),
  'json',
  { env: { PGPASSWORD: 'pg-s3cret' } },
);

void test('redactConfig masks every password and keeps everything else', () => {
  const shown = redactConfig(config);
  const text = JSON.stringify(shown);
  for (const secret of ['pg-s3cret', 't0ps3cret', 'r3g'])
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.equal(shown.sources[0]?.url, 'postgres://app:***@db:5432/shop');
  assert.equal(shown.replicas[0]?.url, 'mysql://root:***@replica:3306/shop');
  assert.equal(shown.sources[0]?.name, 'pg-main');
  // The original is untouched: the pipeline still needs the real password.
  assert.equal(config.sources[0]?.url, 'postgres://app:pg-s3cret@db:5432/shop');
});

void test('collectSecrets finds the passwords, decoded too, so redactText can scrub driver messages', () => {
  const secrets = collectSecrets(config);
  assert.ok(
    secrets.includes('pg-s3cret') && secrets.includes('t0ps3cret') && secrets.includes('r3g/pass'),
    secrets.join(','),
  );
  const message =
    'connect failed for postgres://app:pg-s3cret@db:5432/shop (password=t0ps3cret); token r3g/pass';
  const scrubbed = redactText(message, secrets);
  for (const secret of secrets) assert.ok(!scrubbed.includes(secret), scrubbed);
  assert.match(scrubbed, /postgres:\/\/app:\*\*\*@db:5432\/shop/);
});
