/**
 * How to reach a MariaDB/MySQL server from its URL, for every connection the service opens to one (capture's
 * binlog stream and queries, snapshot, apply, verify, the migration fence, topology checks). TLS comes from
 * the parameters of MySQL's own client and connection URIs: `ssl-mode` (DISABLED, REQUIRED, VERIFY_CA,
 * VERIFY_IDENTITY), `ssl-ca`, `ssl-cert`, `ssl-key`. They map here, and only here, to mysql2's `ssl` (which the
 * binlog client passes on to mysql2 too). mysql2 given an `ssl` object checks the chain but not the host name
 * unless told (`verifyIdentity`): that is VERIFY_CA, so VERIFY_IDENTITY sets it.
 */
import { isIP } from 'node:net';
import { CdcError } from '../errors.ts';
import { databaseSecurityError } from './connect-errors.ts';
import { readPem } from './pem-files.ts';
import { readUrlTls, type TlsParameterNames, type UrlTlsProblem } from './tls-url.ts';

export type MysqlSslMode = 'DISABLED' | 'REQUIRED' | 'VERIFY_CA' | 'VERIFY_IDENTITY';

const NAMES: TlsParameterNames<MysqlSslMode> = {
  mode: 'ssl-mode',
  modes: ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'],
  refused: {
    PREFERRED:
      'PREFERRED would fall back to an unencrypted connection, which this client never does: use REQUIRED, VERIFY_CA or VERIFY_IDENTITY (or DISABLED)',
  },
  ca: 'ssl-ca',
  cert: 'ssl-cert',
  key: 'ssl-key',
  normalize: (mode) => mode.toUpperCase(),
};

/** mysql2's `ssl`, in our words. */
export interface MysqlSsl {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
  readonly verifyIdentity: boolean;
}

/** What mysql2 (and the binlog client) take to reach the server of a URL; the database is the caller's. */
export interface MysqlConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Absent: no TLS. */
  readonly ssl?: MysqlSsl;
}

/**
 * mysql2 checks the host name only when the URL names a host: given an IP address, it checks the certificate
 * against "localhost" instead (Node's fallback when no name is passed), so any certificate made out to localhost
 * would pass. Refused rather than checked wrongly.
 */
function identityProblems(url: URL, mode: MysqlSslMode | null): UrlTlsProblem[] {
  return mode === 'VERIFY_IDENTITY' && isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0
    ? [
        {
          parameter: 'ssl-mode',
          message:
            "VERIFY_IDENTITY needs the server's host name in the URL, not an IP address, which the MySQL driver cannot check: use the name its certificate lists, or VERIFY_CA",
        },
      ]
    : [];
}

/** Everything wrong with the URL's TLS parameters, files included (validation). */
export function mysqlTlsProblems(url: string): UrlTlsProblem[] {
  const parsed = new URL(url);
  const { tls, problems } = readUrlTls(parsed, NAMES, true);
  problems.push(...identityProblems(parsed, tls.mode));
  if (tls.mode === 'REQUIRED' && tls.ca !== undefined)
    problems.push({
      parameter: 'ssl-ca',
      message:
        'is not used by ssl-mode=REQUIRED, which checks no certificate: use VERIFY_CA or VERIFY_IDENTITY',
    });
  return problems;
}

export function mysqlConnectOptions(url: string): MysqlConnectOptions {
  const parsed = new URL(url);
  const parts = {
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  const { tls, problems } = readUrlTls(parsed, NAMES);
  const [problem] = [...problems, ...identityProblems(parsed, tls.mode)];
  if (problem !== undefined)
    throw new CdcError('CONFIG_INVALID', `MariaDB/MySQL URL: ${problem.parameter}: ${problem.message}`, {
      parameter: problem.parameter,
    });
  if (tls.mode === null || tls.mode === 'DISABLED') return parts;
  const verify = tls.mode !== 'REQUIRED';
  const ssl: MysqlSsl = {
    rejectUnauthorized: verify,
    verifyIdentity: tls.mode === 'VERIFY_IDENTITY',
    ...(verify && tls.ca !== undefined ? { ca: readPem(tls.ca) } : {}),
    ...(tls.cert !== undefined && tls.key !== undefined
      ? { cert: readPem(tls.cert), key: readPem(tls.key) }
      : {}),
  };
  return { ...parts, ssl };
}

/** A failed connection to the server of `url` refused for a reason of security, or null (see connect-errors.ts). */
export const mysqlSecurityError = (error: unknown, url: string, context: string): CdcError | null =>
  databaseSecurityError(error, 'mysql', url, context);
