import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlConnectOptions, mysqlSecurityError } from '../../../common/connect/mysql-url.ts';
import { postgresConnectOptions, postgresSecurityError } from '../../../common/connect/postgres-url.ts';
import { configProblems } from '../../support/config-problems.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
let dir = '';
const file = (name: string): string => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdc-database-tls-'));
  await writeFile(file('ca.pem'), PEM);
  await writeFile(file('client.pem'), PEM);
  await writeFile(file('client.key'), KEY);
  await writeFile(file('not-pem.txt'), 'hello\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pg = (query: string): string => `postgres://app:secret@db.internal:5432/shop?${query}`;
const maria = (query: string): string => `mysql://app:secret@db.internal:3306/shop?${query}`;

void describe('PostgreSQL TLS from the URL (libpq meaning)', () => {
  void test('no parameter: the URL as it is, no TLS options', () => {
    assert.deepEqual(postgresConnectOptions('postgres://app@db/shop'), {
      connectionString: 'postgres://app@db/shop',
    });
  });

  void test('verify-full checks chain and host name; the parameters leave the URL', () => {
    const options = postgresConnectOptions(
      pg(`sslmode=verify-full&sslrootcert=${file('ca.pem')}&application_name=x`),
    );
    assert.equal(options.connectionString, 'postgres://app:secret@db.internal:5432/shop?application_name=x');
    assert.ok(options.ssl !== false && options.ssl !== undefined);
    assert.equal(options.ssl.ca, PEM);
    assert.equal(options.ssl.rejectUnauthorized, true);
    assert.equal(options.ssl.checkServerIdentity, undefined);
  });

  void test('verify-ca checks the chain only', () => {
    const { ssl } = postgresConnectOptions(pg(`sslmode=verify-ca&sslrootcert=${file('ca.pem')}`));
    assert.ok(ssl !== false && ssl !== undefined);
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(ssl.checkServerIdentity?.('db.internal', {} as never), undefined);
  });

  void test('require checks nothing, unless an authority is named (then verify-ca, as libpq)', () => {
    const plain = postgresConnectOptions(pg('sslmode=require')).ssl;
    assert.deepEqual(plain, { rejectUnauthorized: false });
    const withCa = postgresConnectOptions(pg(`sslmode=require&sslrootcert=${file('ca.pem')}`)).ssl;
    assert.ok(withCa !== false && withCa !== undefined);
    assert.equal(withCa.rejectUnauthorized, true);
    assert.equal(typeof withCa.checkServerIdentity, 'function');
  });

  void test('a client certificate; sslrootcert=system keeps the system authorities; disable is off', () => {
    const { ssl } = postgresConnectOptions(
      pg(`sslmode=verify-full&sslrootcert=system&sslcert=${file('client.pem')}&sslkey=${file('client.key')}`),
    );
    assert.ok(ssl !== false && ssl !== undefined);
    assert.equal(ssl.ca, undefined);
    assert.equal(ssl.cert, PEM);
    assert.equal(ssl.key, KEY);
    assert.equal(postgresConnectOptions(pg('sslmode=disable&ssl=true')).ssl, false);
    assert.equal(
      postgresConnectOptions(pg('sslmode=disable&ssl=true')).connectionString.includes('ssl'),
      false,
    );
  });
});

void describe('MariaDB/MySQL TLS from the URL (MySQL client names)', () => {
  void test('no parameter: host, port, user, password only', () => {
    assert.deepEqual(mysqlConnectOptions('mysql://root@127.0.0.1:53306/'), {
      host: '127.0.0.1',
      port: 53306,
      user: 'root',
      password: '',
    });
  });

  void test('each mode as mysql2 options', () => {
    assert.deepEqual(mysqlConnectOptions(maria('ssl-mode=required')).ssl, {
      rejectUnauthorized: false,
      verifyIdentity: false,
    });
    assert.deepEqual(mysqlConnectOptions(maria(`ssl-mode=VERIFY_CA&ssl-ca=${file('ca.pem')}`)).ssl, {
      rejectUnauthorized: true,
      verifyIdentity: false,
      ca: PEM,
    });
    assert.deepEqual(
      mysqlConnectOptions(
        maria(
          `ssl-mode=VERIFY_IDENTITY&ssl-ca=${file('ca.pem')}&ssl-cert=${file('client.pem')}&ssl-key=${file('client.key')}`,
        ),
      ).ssl,
      { rejectUnauthorized: true, verifyIdentity: true, ca: PEM, cert: PEM, key: KEY },
    );
    assert.equal(mysqlConnectOptions(maria('ssl-mode=DISABLED')).ssl, undefined);
  });
});

function pipeline(source: string, replica: string): string {
  return JSON.stringify({
    name: 'demo',
    kafka: { brokers: ['kafka.example:9093'] },
    sources: [{ name: 'main', kind: 'postgres', url: source }],
    replicas: [{ name: 'copy', source: 'main', kind: 'mariadb', url: replica }],
  });
}

void describe('validation names the field and the parameter', () => {
  void test('a missing file, a file that is not PEM, a refused mode, a half client certificate', () => {
    const problems = configProblems(
      pipeline(
        pg(`sslmode=verify-full&sslrootcert=${file('missing.pem')}&sslcert=${file('client.pem')}`),
        maria(`ssl-mode=PREFERRED&ssl-ca=${file('not-pem.txt')}`),
      ),
    );
    assert.deepEqual(problems, [
      `sources[0].url: sslrootcert: ${file('missing.pem')} does not exist`,
      'sources[0].url: sslkey: is required when sslcert is set',
      'replicas[0].url: ssl-mode: PREFERRED would fall back to an unencrypted connection, which this client never does: use REQUIRED, VERIFY_CA or VERIFY_IDENTITY (or DISABLED)',
      `replicas[0].url: ssl-ca: ${file('not-pem.txt')} holds no PEM block (-----BEGIN ...-----)`,
    ]);
  });

  void test('modes whose meaning would surprise are refused', () => {
    const problems = configProblems(
      pipeline(pg('sslmode=verify-ca'), maria(`ssl-mode=REQUIRED&ssl-ca=${file('ca.pem')}`)),
    );
    assert.equal(problems.length, 2);
    assert.match(
      problems[0] ?? '',
      /^sources\[0\]\.url: sslrootcert: verify-ca needs the file of the authority/,
    );
    assert.match(problems[1] ?? '', /^replicas\[0\]\.url: ssl-ca: is not used by ssl-mode=REQUIRED/);
    assert.match(
      configProblems(pipeline(pg('sslmode=prefer'), maria('')))[0] ?? '',
      /prefer would fall back/,
    );
    assert.match(
      configProblems(pipeline(pg(`sslrootcert=${file('ca.pem')}`), maria('')))[0] ?? '',
      /sslrootcert: needs sslmode/,
    );
  });
});

void describe('a refused connection names the server and the cause, never the password', () => {
  const pgUrl = 'postgres://app:hunter2@db.internal/shop?sslmode=verify-full';
  const myUrl = 'mysql://app:hunter2@maria.internal:3307/shop';

  void test("Node's certificate codes, and mysql2's code that replaces them", () => {
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const error = postgresSecurityError(new Error('wrapped', { cause: untrusted }), pgUrl, 'cannot connect');
    assert.equal(error?.code, 'DATABASE_TLS_FAILED');
    assert.equal(error?.retriable, false);
    assert.match(
      error?.message ?? '',
      /^cannot connect: TLS to PostgreSQL server db\.internal:5432 failed, its certificate is not signed/,
    );
    const replaced = Object.assign(new Error("Hostname/IP does not match certificate's altnames: Host: x."), {
      code: 'HANDSHAKE_SSL_ERROR',
    });
    assert.match(
      mysqlSecurityError(replaced, myUrl, 'c')?.message ?? '',
      /maria\.internal:3307 failed, its certificate is made out to another host name/,
    );
  });

  void test('a user that must use TLS, reached without it', () => {
    const hba = Object.assign(
      new Error(
        'pg_hba.conf rejects connection for host "10.0.0.1", user "app", database "shop", no encryption',
      ),
      { code: '28000' },
    );
    const pg = postgresSecurityError(hba, pgUrl.replace('?sslmode=verify-full', ''), 'c');
    assert.equal(pg?.code, 'DATABASE_TLS_FAILED');
    assert.match(pg?.message ?? '', /accepts user "app" only over TLS .*set sslmode=verify-full/);
    const denied = Object.assign(new Error("Access denied for user 'app'@'10.0.0.1' (using password: YES)"), {
      errno: 1045,
    });
    const my = mysqlSecurityError(denied, myUrl, 'c');
    assert.equal(my?.code, 'DATABASE_AUTH_FAILED');
    assert.match(my?.message ?? '', /does not use TLS, which a user created with REQUIRE SSL needs/);
    assert.doesNotMatch(
      mysqlSecurityError(denied, `${myUrl}?ssl-mode=REQUIRED`, 'c')?.message ?? '',
      /does not use TLS/,
    );
    for (const message of [pg?.message, my?.message]) assert.ok(!message?.includes('hunter2'));
  });

  void test('anything else is left to the caller', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(postgresSecurityError(refused, pgUrl, 'c'), null);
    assert.equal(mysqlSecurityError(refused, myUrl, 'c'), null);
  });
});
