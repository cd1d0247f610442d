/**
 * A pipeline pointed at a secured broker with a wrong setting stops its capture and its apply worker with an
 * error that names the broker and the cause, shown where an operator looks (/status's lastError) and not
 * retried for ever; the SASL password appears neither there nor in any log line.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSecureKafka, type SecureKafka } from '../../support/secure-kafka.ts';
import { waitFor } from '../../support/wait.ts';
import { startSecuredPipeline } from './secure-cluster.ts';

let secure: SecureKafka;

before(async () => {
  secure = await startSecureKafka();
});
after(() => secure.stop());

/** The scenario: `kafka` is refused; both tasks fail with an error matching each of `expected`. */
async function refused(kafka: Record<string, unknown>, expected: readonly RegExp[]): Promise<void> {
  const run = await startSecuredPipeline(kafka);
  try {
    // kafkajs retries a failed connection for about ten seconds before it gives up.
    await waitFor(
      'capture and apply to fail',
      () => run.pipeline.connectors()[0]?.state === 'failed' && run.pipeline.workers()[0]?.state === 'failed',
      { timeoutMs: 60_000 },
    );
    const errors = [run.pipeline.connectors()[0]?.lastError, run.pipeline.workers()[0]?.lastError];
    for (const error of errors) {
      for (const pattern of expected) assert.match(error ?? '', pattern);
      assert.ok(!error?.includes(secure.password), 'the error holds no password');
    }
    assert.ok(!run.logText().includes(secure.password), 'no log line holds the password');
  } finally {
    await run.stop();
  }
}

const withClientCertificate = () => ({
  certFile: secure.clientCertFile,
  keyFile: secure.clientKeyFile,
});

test('an authority that did not sign the broker certificate', () =>
  refused({ brokers: secure.tlsBrokers, tls: { caFile: secure.otherCaFile, ...withClientCertificate() } }, [
    /TLS to broker 127\.0\.0\.1:\d+ failed/,
    /not signed by an authority this client trusts \(kafka\.tls\.caFile/,
    /self-signed certificate in certificate chain/,
  ]));

test('a broker certificate made out to another host name', () =>
  refused({ brokers: secure.wrongHostBrokers, tls: { caFile: secure.caFile, ...withClientCertificate() } }, [
    /TLS to broker 127\.0\.0\.1:\d+ failed/,
    /made out to another host name/,
    /IP: 127\.0\.0\.1 is not in the cert's list/,
  ]));

test('no client certificate where the broker requires one', () =>
  refused({ brokers: secure.tlsBrokers, tls: { caFile: secure.caFile } }, [
    /TLS to broker 127\.0\.0\.1:\d+ failed/,
    /wants a client certificate it trusts \(kafka\.tls\.certFile/,
  ]));

// The wrong password holds the right one, so neither may show.
test('a wrong SASL password', () =>
  refused(
    {
      brokers: secure.saslBrokers,
      tls: { caFile: secure.caFile },
      sasl: { mechanism: 'scram-sha-256', username: secure.user, password: `${secure.password}-wrong` },
    },
    [
      /broker 127\.0\.0\.1:\d+ refused the SASL credentials of user "cdc" \(scram-sha-256\)/,
      /invalid credentials/,
      /check kafka\.sasl/,
    ],
  ));
