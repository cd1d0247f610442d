/**
 * TLS and SASL failures as errors an operator can act on: which broker, what went wrong, which setting to
 * look at. kafkajs reports them as "Connection error: <Node's message>" after retrying for about ten seconds,
 * or as a SASL error without the broker. Neither heals by retrying: like Kafka's own client, they are not
 * retriable, so a misconfigured pipeline says so instead of reconnecting for ever. The SASL password never
 * appears: messages are built from the broker, the user, the mechanism and kafkajs's text, none of which
 * holds it.
 */
import { CdcError, type ErrorFields } from '../../common/errors.ts';
import { tlsFailure, tlsReason, type TlsFailure } from '../../common/connect/tls-failure.ts';
import { causeChain } from './cause-chain.ts';

/** What to check, for each kind of TLS failure. */
const HINTS: Record<TlsFailure, string> = {
  untrusted:
    'its certificate is not signed by an authority this client trusts (kafka.tls.caFile, or the system authorities without it)',
  'wrong-host':
    'its certificate is made out to another host name (connect by a name it lists, or set kafka.tls.servername)',
  'out-of-date': 'its certificate is expired or not valid yet',
  'not-tls': 'the broker does not speak TLS on this port (a PLAINTEXT or SASL_PLAINTEXT listener?)',
  'client-refused':
    'the broker refused the TLS handshake: it wants a client certificate it trusts (kafka.tls.certFile and keyFile)',
  handshake: 'the TLS handshake failed',
};

function tlsHint(code: string): string | null {
  const failure = tlsFailure(code);
  return failure === null ? null : HINTS[failure];
}

/** Kafka's refusals by its authorizer, and the resource each is about. */
const NOT_AUTHORIZED: Readonly<Record<string, string>> = {
  TOPIC_AUTHORIZATION_FAILED: 'a topic',
  GROUP_AUTHORIZATION_FAILED: 'a consumer group',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'a transactional id',
  CLUSTER_AUTHORIZATION_FAILED: 'the cluster',
};

/** A KAFKA_TLS_FAILED, KAFKA_AUTH_FAILED or KAFKA_NOT_AUTHORIZED error for `error`, or null when it is none. */
export function securityError(error: unknown, message: string, fields: ErrorFields): CdcError | null {
  for (const shape of causeChain(error)) {
    const refused = typeof shape.type === 'string' ? NOT_AUTHORIZED[shape.type] : undefined;
    if (refused !== undefined) {
      return new CdcError(
        'KAFKA_NOT_AUTHORIZED',
        `${message}: the cluster's authorizer refused access to ${refused} (${String(shape.type)}): the principal lacks an ACL; cdc grants --kafka <principal> prints those the pipeline needs`,
        { ...fields, refused: String(shape.type) },
        { cause: error },
      );
    }
    const address = typeof shape.broker === 'string' ? shape.broker : null;
    const broker = address === null ? 'a broker' : `broker ${address}`;
    if (shape.name === 'KafkaJSSASLAuthenticationError') {
      return new CdcError(
        'KAFKA_AUTH_FAILED',
        `${message}: ${broker} refused the SASL credentials${saslUser(shape as SaslContext)}: ${String(shape.message)}; check kafka.sasl`,
        { ...fields, broker: address },
        { cause: error },
      );
    }
    const hint = typeof shape.code === 'string' ? tlsHint(shape.code) : null;
    if (hint !== null) {
      return new CdcError(
        'KAFKA_TLS_FAILED',
        `${message}: TLS to ${broker} failed, ${hint}: ${tlsReason(String(shape.message))}`,
        { ...fields, broker: address, tlsError: shape.code as string },
        { cause: error },
      );
    }
  }
  return null;
}

/** What security.ts adds to kafkajs's SASL error, which names neither the broker nor the user. */
interface SaslContext {
  broker?: string;
  saslUser?: string;
  saslMechanism?: string;
}

/**
 * Adds the broker, user and mechanism to a SASL failure, in place: it stays kafkajs's own error, which
 * kafkajs knows not to retry.
 */
export function markSaslFailure(error: unknown, broker: string, user: string, mechanism: string): unknown {
  if (typeof error === 'object' && error !== null)
    Object.assign(error as SaslContext, { broker, saslUser: user, saslMechanism: mechanism });
  return error;
}

/** ` of user "cdc" (scram-sha-512)` when markSaslFailure named them, or nothing. */
function saslUser(shape: SaslContext): string {
  return shape.saslUser === undefined
    ? ''
    : ` of user ${JSON.stringify(shape.saslUser)} (${shape.saslMechanism})`;
}
