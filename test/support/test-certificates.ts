/**
 * The certificates of the test database servers (tls-postgres.ts, tls-mariadb.ts), made once by the stack's
 * openssl functions (stack/lib/tls.sh, as the secured Kafka's are) under stack/.data/database-tls.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './child-process.ts';
import { run } from './throwaway.ts';

const DIR = join(REPO_ROOT, 'stack', '.data', 'database-tls');

export interface TestCertificates {
  /** The authority that signed the servers' and the client's certificates. */
  readonly caFile: string;
  /** An authority that signed nothing of these. */
  readonly otherCaFile: string;
  /** The servers' certificate and key, for 127.0.0.1 and localhost (not 127.0.0.2). */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A certificate and key of this authority made out to db.wrong-host.invalid. */
  readonly wrongHostCertFile: string;
  readonly wrongHostKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The text of a file of these. */
  read(file: string): Promise<string>;
}

export async function testCertificates(): Promise<TestCertificates> {
  await run('bash', ['-c', '. "$1/stack/lib/tls.sh" && tls_make_database_files "$2"', 'tls', REPO_ROOT, DIR]);
  return {
    caFile: join(DIR, 'ca.pem'),
    otherCaFile: join(DIR, 'other-ca.pem'),
    serverCertFile: join(DIR, 'server.pem'),
    serverKeyFile: join(DIR, 'server.key'),
    wrongHostCertFile: join(DIR, 'wrong-host.pem'),
    wrongHostKeyFile: join(DIR, 'wrong-host.key'),
    clientCertFile: join(DIR, 'client.pem'),
    clientKeyFile: join(DIR, 'client.key'),
    read: (file) => readFile(file, 'utf8'),
  };
}
