/**
 * A PostgreSQL cluster that takes TLS, of a test's own (throwaway-postgres.ts; the stack's is untouched): ssl on
 * with the test certificates (test-certificates.ts), listening on 127.0.0.1 and on 127.0.0.2, which its
 * certificate does not name (the wrong host name). Its role `cdc_tls` (superuser, with a random password) may
 * only come over TLS: `hostssl` admits it, `hostnossl ... reject` refuses it in plain text. The superuser
 * `postgres` stays trusted in plain text, for the test's own setup.
 */
import { randomBytes } from 'node:crypto';
import { testCertificates, type TestCertificates } from './test-certificates.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.ts';

export const TLS_ROLE = 'cdc_tls';

const HBA = `# TYPE     DATABASE     USER      ADDRESS       METHOD
hostnossl  all          ${TLS_ROLE}   127.0.0.0/8   reject
hostnossl  replication  ${TLS_ROLE}   127.0.0.0/8   reject
hostssl    all          ${TLS_ROLE}   127.0.0.0/8   scram-sha-256
hostssl    replication  ${TLS_ROLE}   127.0.0.0/8   scram-sha-256
host       all          postgres  127.0.0.0/8   trust
host       replication  postgres  127.0.0.0/8   trust
`;

export interface TlsPostgres extends ThrowawayPostgres {
  readonly certificates: TestCertificates;
  /** The password of TLS_ROLE, which no error may show. */
  readonly password: string;
  /** URL of database `name` as TLS_ROLE with the password and `query` (TLS parameters), on `host`. */
  roleUrl(name: string, query: string, host?: string): string;
}

export async function startTlsPostgres(): Promise<TlsPostgres> {
  const certificates = await testCertificates();
  const server = await startThrowawayPostgres({
    prefix: 'cdc-tls-pg-',
    settings: [
      "listen_addresses = '127.0.0.1,127.0.0.2'",
      'ssl = on',
      "ssl_cert_file = 'server.pem'",
      "ssl_key_file = 'server.key'",
      "password_encryption = 'scram-sha-256'",
    ].join('\n'),
    hba: HBA,
    files: {
      'server.pem': await certificates.read(certificates.serverCertFile),
      'server.key': await certificates.read(certificates.serverKeyFile),
    },
  });
  const password = randomBytes(12).toString('hex');
  try {
    await server.query(`CREATE ROLE ${TLS_ROLE} LOGIN SUPERUSER REPLICATION PASSWORD '${password}'`);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    ...server,
    certificates,
    password,
    roleUrl: (name, query, host = '127.0.0.1') =>
      `postgres://${TLS_ROLE}:${password}@${host}:${server.port}/${name}${query === '' ? '' : `?${query}`}`,
  };
}
