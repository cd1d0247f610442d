/** TLS and SASL failures in kafkajs's shapes become errors naming the broker and the cause, never retried. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaError } from '../../../services/kafka/client.ts';
import { markSaslFailure } from '../../../services/kafka/security-errors.ts';

/** kafkajs's error after its retries, around its connection error, around Node's code. */
function connectionFailure(code: string, message: string): Error {
  const connection = Object.assign(new Error(`Connection error: ${message}`), {
    name: 'KafkaJSConnectionError',
    broker: 'kafka-1.example:9093',
    code,
    retriable: true,
  });
  return Object.assign(new Error(connection.message), {
    name: 'KafkaJSNumberOfRetriesExceeded',
    retriable: false,
    originalError: connection,
  });
}

test("each TLS failure names the broker, what to check and Node's reason, without OpenSSL's noise", () => {
  const cases = [
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', /kafka\.tls\.caFile/],
    [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames",
      /kafka\.tls\.servername/,
    ],
    ['CERT_HAS_EXPIRED', 'certificate has expired', /expired or not valid yet/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number', /does not speak TLS on this port/],
    [
      'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE',
      '40FD:error:0A000412:SSL routines:ssl3_read_bytes:ssl/tls alert bad certificate:../ssl/rec_layer_s3.c:918:',
      /kafka\.tls\.certFile/,
    ],
  ] as const;
  for (const [code, message, hint] of cases) {
    const mapped = kafkaError(connectionFailure(code, message), 'cannot connect');
    assert.equal(mapped.code, 'KAFKA_TLS_FAILED', code);
    assert.equal(mapped.retriable, false);
    assert.equal(mapped.fields.broker, 'kafka-1.example:9093');
    assert.match(mapped.message, /^cannot connect: TLS to broker kafka-1\.example:9093 failed, /);
    assert.match(mapped.message, hint);
  }
  assert.match(
    kafkaError(connectionFailure('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', cases[4][1]), 'x').message,
    /: ssl\/tls alert bad certificate$/,
  );
});

test('refused SASL credentials name the broker, user and mechanism that markSaslFailure added', () => {
  const sasl = Object.assign(new Error('SASL SCRAM SHA256 authentication failed: invalid credentials'), {
    name: 'KafkaJSSASLAuthenticationError',
    retriable: false,
  });
  const mapped = kafkaError(
    markSaslFailure(sasl, 'kafka-1.example:9096', 'cdc', 'scram-sha-256'),
    'cannot connect',
  );
  assert.equal(mapped.code, 'KAFKA_AUTH_FAILED');
  assert.equal(mapped.retriable, false);
  assert.equal(
    mapped.message,
    'cannot connect: broker kafka-1.example:9096 refused the SASL credentials of user "cdc" (scram-sha-256): SASL SCRAM SHA256 authentication failed: invalid credentials; check kafka.sasl',
  );
});

test('a plain connection failure stays a retriable KAFKA_UNAVAILABLE', () => {
  const mapped = kafkaError(connectionFailure('ECONNREFUSED', 'connect ECONNREFUSED'), 'cannot connect');
  assert.equal(mapped.code, 'KAFKA_UNAVAILABLE');
});
