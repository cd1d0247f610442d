/**
 * A database connection refused for a reason of security, as an error an operator can act on: which server,
 * what went wrong, which URL parameter to look at. None heals by retrying, so none is retriable: a pipeline
 * configured wrong says so instead of reconnecting for ever. Messages are built from the server's address, the
 * user, the mode and the driver's or server's text, none of which holds the password.
 */
import { CdcError } from '../errors.ts';
import { tlsFailure, tlsFailureOfMessage, tlsReason, type TlsFailure } from './tls-failure.ts';

type DatabaseKind = 'postgres' | 'mysql';

/** The server of a URL, as errors name it. */
interface DatabaseServer {
  readonly kind: DatabaseKind;
  /** `host:port`. */
  readonly address: string;
  readonly user: string;
  /** The URL asks for TLS. */
  readonly tls: boolean;
}

/** Per database: its default port, the parameter of the TLS mode and the mode that turns TLS off. */
const URL_FACTS = {
  postgres: { port: 5432, mode: 'sslmode', off: 'DISABLE' },
  mysql: { port: 3306, mode: 'ssl-mode', off: 'DISABLED' },
} as const;

function serverOf(kind: DatabaseKind, url: string): DatabaseServer {
  const parsed = new URL(url);
  const facts = URL_FACTS[kind];
  const mode = parsed.searchParams.get(facts.mode)?.toUpperCase();
  return {
    kind,
    address: `${parsed.hostname}:${parsed.port === '' ? facts.port : parsed.port}`,
    user: decodeURIComponent(parsed.username),
    tls: mode !== undefined && mode !== facts.off,
  };
}

const LABEL = { postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL' } as const;
const CA = { postgres: 'sslrootcert', mysql: 'ssl-ca' } as const;
const CHAIN_ONLY = { postgres: 'sslmode=verify-ca', mysql: 'ssl-mode=VERIFY_CA' } as const;
const CLIENT = { postgres: 'sslcert and sslkey', mysql: 'ssl-cert and ssl-key' } as const;
const TURN_ON = {
  postgres: 'sslmode=verify-full (and sslrootcert) in the URL',
  mysql: 'ssl-mode=VERIFY_IDENTITY (and ssl-ca) in the URL',
} as const;

function hint(failure: TlsFailure, kind: DatabaseKind): string {
  switch (failure) {
    case 'untrusted':
      return `its certificate is not signed by an authority this client trusts (${CA[kind]} in the URL, or the system authorities without it)`;
    case 'wrong-host':
      return `its certificate is made out to another host name (connect by a name it lists; ${CHAIN_ONLY[kind]} checks the authority only)`;
    case 'out-of-date':
      return 'its certificate is expired or not valid yet';
    case 'not-tls':
      return 'the server does not speak TLS on this port';
    case 'client-refused':
      return `the server refused the TLS handshake: it wants a client certificate it trusts (${CLIENT[kind]} in the URL)`;
    case 'handshake':
      return 'the TLS handshake failed';
  }
}

interface ErrorShape {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

function* chain(error: unknown): Generator<ErrorShape> {
  for (
    let current = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 10;
    depth++
  ) {
    yield current;
    current = (current as ErrorShape).cause;
  }
}

/** node-postgres's and mysql2's words for a server that answered it takes no TLS. */
const NO_TLS_ON_SERVER = /does not support (SSL|secure) connection|HANDSHAKE_NO_SSL_SUPPORT/;
const ER_ACCESS_DENIED = 1045;

/**
 * DATABASE_TLS_FAILED or DATABASE_AUTH_FAILED for a failed connection to the server of `url`, or null when the failure is
 * of another kind (the caller's own error then, usually a retriable "unreachable"). `context` says what was
 * being done ("cannot connect to the source").
 */
export function databaseSecurityError(
  error: unknown,
  kind: DatabaseKind,
  url: string,
  context: string,
): CdcError | null {
  const server = serverOf(kind, url);
  const at = `${LABEL[server.kind]} server ${server.address}`;
  const fields = { server: server.address, user: server.user };
  for (const shape of chain(error)) {
    const message = typeof shape.message === 'string' ? shape.message : '';
    const code = typeof shape.code === 'string' ? shape.code : '';
    const failure =
      code === 'HANDSHAKE_SSL_ERROR' ? (tlsFailureOfMessage(message) ?? 'handshake') : tlsFailure(code);
    if (failure !== null)
      return new CdcError(
        'DATABASE_TLS_FAILED',
        `${context}: TLS to ${at} failed, ${hint(failure, server.kind)}: ${tlsReason(message)}`,
        { ...fields, tlsError: code },
        { cause: error },
      );
    if (NO_TLS_ON_SERVER.test(`${code} ${message}`))
      return new CdcError(
        'DATABASE_TLS_FAILED',
        `${context}: ${at} takes no TLS connections (ssl is off on it), but the URL asks for TLS`,
        fields,
        { cause: error },
      );
    // PostgreSQL: a `hostnossl ... reject` (or no rule but `hostssl`) for this user.
    if (server.kind === 'postgres' && code === '28000' && message.includes('no encryption'))
      return new CdcError(
        'DATABASE_TLS_FAILED',
        `${context}: ${at} accepts user ${JSON.stringify(server.user)} only over TLS (${message}); set ${TURN_ON.postgres}`,
        fields,
        { cause: error },
      );
    // MariaDB says only "access denied" to a user created with REQUIRE SSL that comes without TLS.
    if (server.kind === 'mysql' && shape.errno === ER_ACCESS_DENIED)
      return new CdcError(
        'DATABASE_AUTH_FAILED',
        `${context}: ${at} refused user ${JSON.stringify(server.user)}: ${message}${
          server.tls
            ? ''
            : `; this connection does not use TLS, which a user created with REQUIRE SSL needs: set ${TURN_ON.mysql}`
        }`,
        fields,
        { cause: error },
      );
  }
  return null;
}
