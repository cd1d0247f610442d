/**
 * MariaDB over TLS (ssl-mode and ssl-ca in the URL), on a server of the test's own whose user is created with
 * REQUIRE SSL: capture (the binlog stream and its queries, the snapshot), apply and verify work with
 * VERIFY_IDENTITY; an authority that did not sign the server certificate, a certificate made out to another
 * host name (a second server presenting one) and a URL without TLS are each refused naming the server and the
 * cause.
 */
import { after, before, test } from 'node:test';
import { startTlsMariadb, TLS_USER, type TlsMariadb } from '../../support/tls-mariadb.ts';
import { uniqueName } from '../../support/stack.ts';
import { refusedOverTls, replicatesOverTls, type TlsDatabases } from './database-tls.ts';

let server: TlsMariadb;

before(async () => {
  server = await startTlsMariadb();
});
after(() => server.stop());

/** Fresh source (300 rows) and replica databases on `on`; both URLs carry `query`. */
async function databases(query: string, on: TlsMariadb = server): Promise<TlsDatabases> {
  const source = uniqueName('tls_src');
  const replica = uniqueName('tls_dst');
  await on.query(`CREATE DATABASE ${source}; CREATE DATABASE ${replica}`);
  await on.query(`CREATE TABLE ${source}.items (id bigint PRIMARY KEY, name varchar(40) NOT NULL, qty int)`);
  await on.query(`USE ${source}; INSERT INTO items SELECT seq, CONCAT('item ', seq), seq FROM seq_1_to_300`);
  const rows = async (database: string) =>
    JSON.stringify(await on.query(`SELECT id, name, qty FROM ${database}.items ORDER BY id`));
  return {
    kind: 'mariadb',
    password: on.password,
    sourceUrl: on.userUrl(source, query),
    replicaUrl: on.userUrl(replica, query),
    sourceSettings: {},
    writeSource: async (sql) => {
      await on.query(`USE ${source}; ${sql}`);
    },
    rows: (side) => rows(side === 'source' ? source : replica),
  };
}

const trusting = (ca: string) => `ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`;

test('capture, apply and verify over TLS with VERIFY_IDENTITY: the replica equals the source', async () => {
  await replicatesOverTls(await databases(trusting(server.certificates.caFile)));
});

/** The scenario: URLs with `query` to a database on `on` are refused with errors matching `expected`. */
async function refused(query: string, expected: readonly RegExp[], on?: TlsMariadb): Promise<void> {
  const target = await databases(query, on);
  await refusedOverTls(target, { source: target.sourceUrl, replica: target.replicaUrl }, expected);
}

test('an authority that did not sign the server certificate', () =>
  refused(trusting(server.certificates.otherCaFile), [
    /TLS to MariaDB\/MySQL server localhost:\d+ failed/,
    /not signed by an authority this client trusts \(ssl-ca in the URL/,
  ]));

test('a server certificate made out to another host name', async () => {
  const wrongHost = await startTlsMariadb('wrong-host');
  try {
    await refused(
      trusting(server.certificates.caFile),
      [
        /TLS to MariaDB\/MySQL server localhost:\d+ failed/,
        /made out to another host name/,
        /Host: localhost\. is not in the cert's altnames: DNS:db\.wrong-host\.invalid/,
      ],
      wrongHost,
    );
  } finally {
    await wrongHost.stop();
  }
});

test('a user created with REQUIRE SSL, with a URL that asks for no TLS', () =>
  refused('', [
    new RegExp(`MariaDB/MySQL server localhost:\\d+ refused user "${TLS_USER}": Access denied`),
    /this connection does not use TLS, which a user created with REQUIRE SSL needs/,
  ]));
