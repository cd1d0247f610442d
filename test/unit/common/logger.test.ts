import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../common/logger.ts';

function capture(secrets: readonly string[]) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    secrets,
    destination: { write: (line: string) => lines.push(line) },
  });
  return { logger, lines };
}

void test('a secret of the configuration is masked wherever a line holds it, also JSON-escaped', () => {
  const secret = 'pa"ss\\word-7731';
  const { logger, lines } = capture([secret, 'kafka-sasl-secret']);
  logger.warn({ err: new Error(`login failed with ${secret}`) }, 'capture failed');
  logger.error(`SASL user cdc with kafka-sasl-secret refused`);
  logger.info({ detail: { nested: `postgres://cdc:other-pass@db:5432/shop` } }, 'connecting');
  const text = lines.join('');
  assert.equal(lines.length, 3);
  assert.ok(!text.includes('word-7731'), text);
  assert.ok(!text.includes('kafka-sasl-secret'), text);
  assert.ok(!text.includes('other-pass'), 'a password in a URL is masked even when not configured');
  assert.match(text, /login failed with \*\*\*/);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), 'each line stays JSON');
});
