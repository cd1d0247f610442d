import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../services/config/load.ts';
import { redactConfig } from '../../../services/config/redact.ts';
import { kafkajsSecurity } from '../../../services/kafka/security.ts';
import { configProblems } from '../../support/config-problems.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
let dir = '';
const file = (name: string): string => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdc-kafka-security-'));
  await writeFile(file('ca.pem'), PEM);
  await writeFile(file('client.pem'), PEM);
  await writeFile(file('client.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
  await writeFile(file('not-pem.txt'), 'hello\n');
  await writeFile(file('password'), 'from-a-file\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pipeline(kafka: Record<string, unknown>): string {
  return JSON.stringify({
    name: 'demo',
    kafka: { brokers: ['kafka.example:9093'], ...kafka },
    sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://app@db:5432/shop' }],
  });
}

void describe('kafka.tls', () => {
  void test('defaults: on, checking the server name, with the system authorities', () => {
    const config = parseConfig(pipeline({ tls: {} }), 'json', { env: {} });
    assert.deepEqual(config.kafka.tls, { enabled: true, checkServerName: true });
    assert.equal(config.kafka.sasl, undefined);
    const { ssl } = kafkajsSecurity(config.kafka);
    assert.equal(ssl?.rejectUnauthorized, true);
    assert.equal(ssl?.ca, undefined);
    assert.equal(ssl?.checkServerIdentity, undefined);
  });

  void test('files are read into the client settings; the name check can be turned off', () => {
    const config = parseConfig(
      pipeline({
        tls: {
          caFile: file('ca.pem'),
          certFile: file('client.pem'),
          keyFile: file('client.key'),
          checkServerName: false,
          servername: 'kafka.internal',
        },
      }),
      'json',
      { env: {} },
    );
    const { ssl } = kafkajsSecurity(config.kafka);
    assert.equal(ssl?.ca, PEM);
    assert.equal(ssl?.cert, PEM);
    assert.match(ssl?.key as string, /BEGIN PRIVATE KEY/);
    assert.equal(ssl?.servername, 'kafka.internal');
    assert.equal(ssl?.rejectUnauthorized, true, 'the chain is still verified');
    assert.equal(typeof ssl?.checkServerIdentity, 'function');
  });

  void test('a file that does not exist, is no PEM or lacks its pair is named by its field', () => {
    const problems = configProblems(
      pipeline({ tls: { caFile: file('missing.pem'), certFile: file('not-pem.txt') } }),
    );
    assert.deepEqual(problems, [
      `kafka.tls.caFile: ${file('missing.pem')} does not exist`,
      `kafka.tls.certFile: ${file('not-pem.txt')} holds no PEM block (-----BEGIN ...-----)`,
      'kafka.tls.keyFile: is required when certFile is set',
    ]);
  });

  void test('a folder is named as such', () => {
    assert.deepEqual(configProblems(pipeline({ tls: { caFile: dir } })), [
      `kafka.tls.caFile: ${dir} is a folder, not a file`,
    ]);
  });

  // root reads a file whatever its mode.
  void test('an unreadable file is named as such', { skip: process.getuid?.() === 0 }, async () => {
    await writeFile(file('secret.pem'), PEM);
    await chmod(file('secret.pem'), 0o000);
    assert.deepEqual(configProblems(pipeline({ tls: { caFile: file('secret.pem') } })), [
      `kafka.tls.caFile: ${file('secret.pem')} is not readable by this process`,
    ]);
  });

  void test('enabled: false turns it off without checking its files', () => {
    const config = parseConfig(
      pipeline({ tls: { enabled: '${KAFKA_TLS:-false}', caFile: file('missing.pem') } }),
      'json',
      { env: {} },
    );
    assert.deepEqual(kafkajsSecurity(config.kafka), {});
  });
});

void describe('kafka.sasl', () => {
  void test('mechanism, user and password reach the client; the password from a file, masked on display', () => {
    const config = parseConfig(
      pipeline({
        tls: {},
        sasl: {
          mechanism: 'scram-sha-512',
          username: '${KAFKA_USER}',
          password: `\${file:${file('password')}}`,
        },
      }),
      'json',
      { env: { KAFKA_USER: 'cdc' } },
    );
    assert.deepEqual(config.kafka.sasl, {
      mechanism: 'scram-sha-512',
      username: 'cdc',
      password: 'from-a-file',
    });
    assert.equal(kafkajsSecurity(config.kafka).sasl?.mechanism, 'scram-sha-512');
    assert.equal(redactConfig(config).kafka.sasl?.password, '***');
  });

  void test('an unknown mechanism and a missing password are named', () => {
    assert.deepEqual(configProblems(pipeline({ sasl: { mechanism: 'gssapi', username: 'cdc' } })), [
      'kafka.sasl.mechanism: must be "plain" or "scram-sha-256" or "scram-sha-512", not "gssapi"',
      'kafka.sasl.password: is required',
    ]);
  });
});

void describe('${file:...} references', () => {
  void test('a file that cannot be read names the field and the file, and a relative path is refused', () => {
    const problems = configProblems(
      pipeline({
        sasl: { mechanism: 'plain', username: '${file:user.txt}', password: `\${file:${file('nope')}}` },
      }),
    );
    assert.deepEqual(problems, [
      'kafka.sasl.username: ${file:user.txt} must name an absolute path',
      `kafka.sasl.password: cannot read ${file('nope')} (ENOENT)`,
    ]);
  });

  void test('a reference inside a longer value is replaced in place, and $${file:...} stays literal', () => {
    const config = parseConfig(
      pipeline({ clientId: `cdc-\${file:${file('password')}}-$\${file:/x}` }),
      'json',
      { env: {} },
    );
    assert.equal(config.kafka.clientId, 'cdc-from-a-file-${file:/x}');
  });
});
