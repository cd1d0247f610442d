/**
 * PostgreSQL TLS from the URL's libpq parameters (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`), with libpq's
 * meaning, for every PostgreSQL connection the service opens (capture, the replication stream, apply, verify,
 * migration). node-postgres reads these parameters itself, but gives them another meaning: `require` and
 * `verify-ca` check the host name as `verify-full` does, `prefer` never falls back to a plain connection,
 * `sslrootcert=system` is read as a file named "system", and it announces that the meaning will change in its
 * next major version. So the parameters are taken out of the URL here and node-postgres gets the TLS options
 * of the mode as libpq defines it.
 */
import type { ConnectionOptions } from 'node:tls';
import { CdcError } from '../errors.ts';
import { databaseSecurityError } from './connect-errors.ts';
import { readPem } from './pem-files.ts';
import { readUrlTls, withoutParameters, type TlsParameterNames, type UrlTlsProblem } from './tls-url.ts';

export type PostgresSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

const FALLBACK = 'would fall back to an unencrypted connection, which this client never does';
const NAMES: TlsParameterNames<PostgresSslMode> = {
  mode: 'sslmode',
  modes: ['disable', 'require', 'verify-ca', 'verify-full'],
  refused: {
    allow: `allow ${FALLBACK}: use require, verify-ca or verify-full (or disable)`,
    prefer: `prefer ${FALLBACK}: use require, verify-ca or verify-full (or disable)`,
    'no-verify': 'no-verify is not a libpq mode: use require (encrypted, the certificate not checked)',
  },
  ca: 'sslrootcert',
  cert: 'sslcert',
  key: 'sslkey',
  caKeyword: 'system',
  normalize: (mode) => mode,
};
/** Also taken out: node-postgres's own switches, which would override the options given here. */
const DRIVER_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat'];

/** What node-postgres's Client and Pool take to reach the server of `url`. */
export interface PostgresConnectOptions {
  readonly connectionString: string;
  /** Absent: the URL asks for no TLS (node-postgres's default, a plain connection). */
  readonly ssl?: ConnectionOptions | false;
}

/** Everything wrong with the URL's TLS parameters, files included (validation). */
export function postgresTlsProblems(url: string): UrlTlsProblem[] {
  const parsed = new URL(url);
  const { tls, problems } = readUrlTls(parsed, NAMES, true);
  if (tls.mode === 'verify-ca' && (tls.ca === undefined || tls.ca === 'system'))
    problems.push({
      parameter: 'sslrootcert',
      message:
        'verify-ca needs the file of the authority that signed the server certificate (any certificate of a public authority would pass)',
    });
  if (tls.ca === 'system' && tls.mode !== 'verify-full')
    problems.push({ parameter: 'sslrootcert', message: 'system is allowed only with sslmode=verify-full' });
  return problems;
}

export function postgresConnectOptions(url: string): PostgresConnectOptions {
  const parsed = new URL(url);
  const { tls, problems } = readUrlTls(parsed, NAMES);
  const [problem] = problems;
  if (problem !== undefined)
    throw new CdcError('CONFIG_INVALID', `PostgreSQL URL: ${problem.parameter}: ${problem.message}`, {
      parameter: problem.parameter,
    });
  if (tls.mode === null) return { connectionString: url };
  const connectionString = withoutParameters(parsed, DRIVER_PARAMETERS);
  if (tls.mode === 'disable') return { connectionString, ssl: false };
  const ca = tls.ca === undefined || tls.ca === 'system' ? undefined : readPem(tls.ca);
  const client =
    tls.cert !== undefined && tls.key !== undefined ? { cert: readPem(tls.cert), key: readPem(tls.key) } : {};
  // libpq: require checks nothing, unless an authority is given, which makes it verify-ca.
  const checks =
    tls.mode === 'require' && ca === undefined
      ? { rejectUnauthorized: false }
      : tls.mode === 'verify-full'
        ? { rejectUnauthorized: true }
        : { rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { connectionString, ssl: { ...checks, ...(ca === undefined ? {} : { ca }), ...client } };
}

/** A failed connection to the server of `url` refused for a reason of security, or null (see connect-errors.ts). */
export const postgresSecurityError = (error: unknown, url: string, context: string): CdcError | null =>
  databaseSecurityError(error, 'postgres', url, context);
