/**
 * The whole pipeline (PostgreSQL capture → Kafka → apply into a PostgreSQL replica) against a broker that
 * takes only TLS and SASL_SSL connections, with certificate and host-name verification on: every client the
 * pipeline makes (publisher, schema store, consumer, backlog sampler, dead letters) must carry kafka.tls and
 * kafka.sasl, or it cannot reach the broker at all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createKafka, producerConfig } from '../../../services/kafka/client.ts';
import type { KafkaSasl } from '../../../services/kafka/security.ts';
import { startSecureKafka, type SecureKafka } from '../../support/secure-kafka.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { startSecuredPipeline } from './secure-cluster.ts';

let secure: SecureKafka;
let secrets = '';

before(async () => {
  secure = await startSecureKafka();
  secrets = await mkdtemp(join(tmpdir(), 'cdc-secure-'));
});
after(async () => {
  await secure.stop();
  await rm(secrets, { recursive: true, force: true });
});

/** Rows written to the source reach the replica, and nothing failed on the way. */
async function replicates(kafka: Record<string, unknown>, env: Record<string, string> = {}): Promise<void> {
  const run = await startSecuredPipeline(kafka, env);
  try {
    await run.source.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g`);
    await run.source.query(`UPDATE items SET label = label || ' changed' WHERE id % 10 = 0`);
    await run.source.query(`DELETE FROM items WHERE id > 190`);
    const expected = await run.source.query('SELECT id, label FROM items ORDER BY id');
    await waitFor(
      'the replica to hold the source rows',
      async () => {
        const rows = await run.replica.query('SELECT id, label FROM items ORDER BY id').catch(() => null);
        return JSON.stringify(rows?.rows) === JSON.stringify(expected.rows);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // The backlog sampler reads the changelog's end on a client of its own: a number means it got through.
    await waitFor('the backlog to be sampled', () => run.pipeline.workers()[0]?.backlogEvents === 0, {
      timeoutMs: 30_000,
    });
    assert.equal(run.pipeline.connectors()[0]?.lastError ?? null, null);
    assert.equal(run.pipeline.workers()[0]?.lastError, null);
    assert.equal(run.pipeline.workers()[0]?.deadLetters, 0);
  } finally {
    await run.stop();
  }
}

test('capture and apply run over mutual TLS, the broker verified by our authority and its address', () =>
  replicates({
    brokers: secure.tlsBrokers,
    tls: { caFile: secure.caFile, certFile: secure.clientCertFile, keyFile: secure.clientKeyFile },
  }));

test('capture and apply run over SASL_SSL with SCRAM-SHA-512, the password read from a file', async () => {
  const passwordFile = join(secrets, 'kafka-password');
  await writeFile(passwordFile, `${secure.password}\n`, { mode: 0o600 });
  await replicates(
    {
      brokers: secure.saslBrokers,
      tls: { caFile: secure.caFile },
      sasl: { mechanism: 'scram-sha-512', username: '${KAFKA_USER}', password: `\${file:${passwordFile}}` },
    },
    { KAFKA_USER: secure.user },
  );
});

/** A record produced through our client wrapper is read back through it. */
async function roundTrip(mechanism: KafkaSasl['mechanism']): Promise<void> {
  const kafka = createKafka({
    brokers: secure.saslBrokers,
    clientId: `test-secure-${mechanism}`,
    tls: { enabled: true, caFile: secure.caFile, checkServerName: true },
    sasl: { mechanism, username: secure.user, password: secure.password },
  });
  const topic = uniqueName(`secure-${mechanism}`);
  const admin = kafka.admin();
  const producer = kafka.producer(producerConfig({}));
  const consumer = kafka.consumer({ groupId: topic });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: mechanism }] });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push(message.value?.toString() ?? '');
        return Promise.resolve();
      },
    });
    await waitFor('the record to come back', () => seen.length > 0, { timeoutMs: 30_000 });
    assert.deepEqual(seen, [mechanism]);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
}

test('SCRAM-SHA-256 produces and consumes over SASL_SSL', () => roundTrip('scram-sha-256'));
test('PLAIN produces and consumes over SASL_SSL', () => roundTrip('plain'));
