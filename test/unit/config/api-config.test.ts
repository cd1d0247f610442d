import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import { isLoopback } from '../../../services/config/api.ts';
import { configProblems } from '../../support/config-problems.ts';

const base = {
  name: 'demo',
  kafka: { brokers: ['127.0.0.1:9092'] },
  sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://u:p@h/db', tables: ['public.*'] }],
};
const TOKEN = 'a'.repeat(32);

const withApi = (api: object) => JSON.stringify({ ...base, api });

void describe('api configuration', () => {
  void test('an API without tokens on anything but loopback is refused, naming the field and the way out', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'cdc.internal']) {
      assert.deepEqual(configProblems(withApi({ host })), [
        `api.host: ${JSON.stringify(host)} is not a loopback address, and an API without tokens lets whoever reaches it pause, snapshot and replay: list api.tokens, or listen on 127.0.0.1`,
      ]);
    }
  });

  void test('loopback addresses may stay open; any address may listen with tokens', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      assert.equal(parseConfig(withApi({ host }), 'json').api.tokens.length, 0);
    const config = parseConfig(
      withApi({ host: '0.0.0.0', tokens: [{ name: 'ops', token: TOKEN, scope: 'admin' }] }),
      'json',
    );
    assert.deepEqual(config.api.tokens, [{ name: 'ops', token: TOKEN, scope: 'admin' }]);
    assert.equal(config.api.openProbes, true);
  });

  void test('weak, malformed and shared tokens are refused without echoing them', () => {
    const problems = configProblems(
      withApi({
        tokens: [
          { name: 'a', token: 'short-secret', scope: 'read' },
          { name: 'b', token: `${TOKEN} x`, scope: 'admin' },
          { name: 'c', token: TOKEN, scope: 'owner' },
        ],
      }),
    );
    assert.deepEqual(problems, [
      'api.tokens[0].token: must be at least 16 characters',
      'api.tokens[1].token: must be printable ASCII without spaces',
      'api.tokens[2].scope: must be "read" or "admin", not "owner"',
    ]);
    assert.ok(!problems.join('\n').includes('short-secret'));
    const shared = configProblems(
      withApi({
        tokens: [
          { name: 'c', token: TOKEN, scope: 'admin' },
          { name: 'd', token: TOKEN, scope: 'read' },
          { name: 'e', token: TOKEN, scope: 'admin' },
        ],
      }),
    );
    assert.deepEqual(shared, [
      'api.tokens[1].token: is the same as api.tokens[0].token: each holder needs a token of its own',
      'api.tokens[2].token: is the same as api.tokens[0].token: each holder needs a token of its own',
    ]);
    assert.ok(!shared.join('\n').includes(TOKEN));
  });

  void test('a token comes from the environment, so it need not be in the file', () => {
    const config = parseConfig(
      withApi({ tokens: [{ name: 'ops', token: '${CDC_TOKEN}', scope: 'admin' }] }),
      'json',
      { env: { CDC_TOKEN: TOKEN } },
    );
    assert.equal(config.api.tokens[0]?.token, TOKEN);
  });

  void test('api.tls names a certificate or key file that is missing', () => {
    assert.deepEqual(
      configProblems(withApi({ tls: { certFile: '/nonexistent/api.pem', keyFile: '/nonexistent/api.key' } })),
      [
        'api.tls.certFile: /nonexistent/api.pem does not exist',
        'api.tls.keyFile: /nonexistent/api.key does not exist',
      ],
    );
  });

  void test('isLoopback', () => {
    assert.deepEqual(
      ['127.0.0.1', '::1', 'LOCALHOST', '0.0.0.0', '128.0.0.1', '127.0.0', '::'].map(isLoopback),
      [true, true, true, false, false, false, false],
    );
  });
});
