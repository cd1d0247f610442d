/**
 * PostgreSQL over TLS (sslmode and sslrootcert in the URL), on a cluster of the test's own whose role may only
 * come over TLS: capture (its queries and the logical replication stream), apply and verify work with
 * verify-full; an authority that did not sign the server certificate, a host name the certificate does not
 * list and a URL without TLS are each refused naming the server and the cause.
 */
import { after, before, test } from 'node:test';
import { startTlsPostgres, TLS_ROLE, type TlsPostgres } from '../../support/tls-postgres.ts';
import { uniqueName } from '../../support/stack.ts';
import { refusedOverTls, replicatesOverTls, type TlsDatabases } from './database-tls.ts';

let server: TlsPostgres;

before(async () => {
  server = await startTlsPostgres();
});
after(() => server.stop());

/** Fresh source (300 rows) and replica databases; both URLs carry `query` and name `host`. */
async function databases(query: string, host?: string): Promise<TlsDatabases> {
  const source = uniqueName('tls_src');
  const replica = uniqueName('tls_dst');
  await server.query(`CREATE DATABASE ${source}`);
  await server.query(`CREATE DATABASE ${replica}`);
  await server.query('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty int)', [], source);
  await server.query(
    `INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g`,
    [],
    source,
  );
  const rows = async (database: string) =>
    JSON.stringify((await server.query('SELECT id, name, qty FROM items ORDER BY id', [], database)).rows);
  return {
    kind: 'postgres',
    password: server.password,
    sourceUrl: server.roleUrl(source, query, host),
    replicaUrl: server.roleUrl(replica, query, host),
    sourceSettings: { slot: uniqueName('slot') },
    writeSource: async (sql) => {
      await server.query(sql, [], source);
    },
    rows: (side) => rows(side === 'source' ? source : replica),
  };
}

const trusting = (ca: string) => `sslmode=verify-full&sslrootcert=${ca}`;

test('capture, apply and verify over TLS with verify-full: the replica equals the source', async () => {
  await replicatesOverTls(await databases(trusting(server.certificates.caFile)));
});

/** The scenario: URLs with `query` on `host` are refused with errors matching `expected`. */
async function refused(query: string, expected: readonly RegExp[], host?: string): Promise<void> {
  const target = await databases(query, host);
  await refusedOverTls(target, { source: target.sourceUrl, replica: target.replicaUrl }, expected);
}

test('an authority that did not sign the server certificate', () =>
  refused(trusting(server.certificates.otherCaFile), [
    /TLS to PostgreSQL server 127\.0\.0\.1:\d+ failed/,
    /not signed by an authority this client trusts \(sslrootcert in the URL/,
  ]));

test('a server certificate that does not list the host name connected to', () =>
  refused(
    trusting(server.certificates.caFile),
    [
      /TLS to PostgreSQL server 127\.0\.0\.2:\d+ failed/,
      /made out to another host name/,
      /IP: 127\.0\.0\.2 is not in the cert's list/,
    ],
    '127.0.0.2',
  ));

test('a role that may only come over TLS, with a URL that asks for none', () =>
  refused('', [
    new RegExp(`PostgreSQL server 127\\.0\\.0\\.1:\\d+ accepts user "${TLS_ROLE}" only over TLS`),
    /no encryption/,
    /set sslmode=verify-full \(and sslrootcert\) in the URL/,
  ]));
