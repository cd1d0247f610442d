/**
 * What went wrong in a TLS handshake, from Node's error code, for any server (a Kafka broker, a database):
 * each caller says which of its settings to check for each kind.
 */

/** Node's certificate verification codes meaning the chain leads to no authority we trust. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export type TlsFailure =
  'untrusted' | 'wrong-host' | 'out-of-date' | 'not-tls' | 'client-refused' | 'handshake';

/** The kind of TLS failure Node's error code `code` means; null when it is no TLS failure. */
export function tlsFailure(code: string): TlsFailure | null {
  if (UNTRUSTED.has(code)) return 'untrusted';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'wrong-host';
  if (OUT_OF_DATE.has(code)) return 'out-of-date';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'not-tls';
  if (/^ERR_SSL_.*(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|HANDSHAKE_FAILURE)$/.test(code))
    return 'client-refused';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'handshake';
  return null;
}

/**
 * Node's message of each certificate verification failure, for drivers that keep the message but replace the
 * code (mysql2 sets HANDSHAKE_SSL_ERROR).
 */
const BY_MESSAGE: readonly [RegExp, TlsFailure][] = [
  [
    /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate signature failure|certificate not trusted|certificate rejected/i,
    'untrusted',
  ],
  [/does not match certificate's altnames/i, 'wrong-host'],
  [/certificate has expired|certificate is not yet valid/i, 'out-of-date'],
];

/** The kind of TLS failure a driver's TLS error means, by Node's message; null when none is recognized. */
export function tlsFailureOfMessage(message: string): TlsFailure | null {
  return BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] ?? null;
}

/** Node's reason without OpenSSL's location prefix and source file (`...:ssl/tls alert bad certificate:...`). */
export function tlsReason(message: string): string {
  // Node's advice to use the system's authorities is beside the point when the URL names the authority.
  const text = message
    .replace(/^Connection error: /, '')
    .replace(/; if the root CA is installed locally.*$/, '')
    .trim();
  const openssl = /:SSL routines:[^:]*:([^:]+):/.exec(text);
  return openssl?.[1] ?? text;
}
