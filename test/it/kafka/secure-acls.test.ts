/**
 * A cluster with an authorizer (the secured broker of stack/kafka-secure.sh): a principal holding exactly the
 * ACLs `cdc grants --kafka` prints for a pipeline runs it, capture and apply; the same principal without
 * them is refused with KAFKA_NOT_AUTHORIZED naming what to grant, instead of retrying for ever.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs, { type AclEntry } from 'kafkajs';
import { createKafka } from '../../../services/kafka/client.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { kafkaAclBlocks, type AclOperation, type AclResource } from '../../../services/privileges/kafka.ts';
import { startSecureKafka, type SecureKafka } from '../../support/secure-kafka.ts';
import { waitFor } from '../../support/wait.ts';
import { startSecuredPipeline } from './secure-cluster.ts';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

let secure: SecureKafka;
before(async () => {
  secure = await startSecureKafka();
});
after(async () => {
  await secure.stop();
});

const RESOURCE: Record<AclResource, kafkajs.AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
};
const OPERATION: Record<AclOperation, kafkajs.AclOperationTypes> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Create: AclOperationTypes.CREATE,
  Describe: AclOperationTypes.DESCRIBE,
  DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  AlterConfigs: AclOperationTypes.ALTER_CONFIGS,
};

/** Grants, as the cluster's super user, the ACLs `cdc grants --kafka` prints for `config` to the limited user. */
async function grantPrinted(config: PipelineConfig): Promise<void> {
  const principal = `User:${secure.limitedUser}`;
  const acl: AclEntry[] = kafkaAclBlocks(config).flatMap((block) =>
    block.acls.flatMap((entry) =>
      entry.operations.map((operation) => ({
        resourceType: RESOURCE[entry.resource],
        resourceName: entry.prefix,
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal,
        host: '*',
        operation: OPERATION[operation],
        permissionType: AclPermissionTypes.ALLOW,
      })),
    ),
  );
  const admin = createKafka({
    brokers: [...secure.saslBrokers],
    clientId: 'test-acls',
    tls: { enabled: true, caFile: secure.caFile, checkServerName: true },
    sasl: { mechanism: 'scram-sha-512', username: secure.user, password: secure.password },
  }).admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
  } finally {
    await admin.disconnect();
  }
}

const limited = () => ({
  brokers: secure.saslBrokers,
  tls: { caFile: secure.caFile },
  sasl: { mechanism: 'scram-sha-512', username: secure.limitedUser, password: secure.limitedPassword },
});

test('a principal with only the printed ACLs runs capture and apply', async () => {
  const run = await startSecuredPipeline(limited(), {}, { beforeStart: grantPrinted });
  try {
    await run.source.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g`);
    await run.source.query(`DELETE FROM items WHERE id > 90`);
    const expected = JSON.stringify((await run.source.query('SELECT id, label FROM items ORDER BY id')).rows);
    await waitFor(
      'the replica to hold the source rows',
      async () => {
        const rows = await run.replica.query('SELECT id, label FROM items ORDER BY id').catch(() => null);
        return JSON.stringify(rows?.rows) === expected;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    ).catch(() => {
      const parts = [...run.pipeline.connectors(), ...run.pipeline.workers()];
      assert.fail(parts.map((p) => `${p.name} ${p.state}: ${p.lastError ?? ''}`).join('; '));
    });
    assert.equal(run.pipeline.connectors()[0]?.lastError ?? null, null);
    assert.equal(run.pipeline.workers()[0]?.lastError, null);
  } finally {
    await run.stop();
  }
});

test('without the ACLs the connector fails with KAFKA_NOT_AUTHORIZED saying how to grant them', async () => {
  const run = await startSecuredPipeline(limited());
  try {
    await waitFor('the connector to fail', () => run.pipeline.connectors()[0]?.state === 'failed', {
      timeoutMs: 90_000,
    }).catch(() => {
      const connector = run.pipeline.connectors()[0];
      assert.fail(`the connector is ${connector?.state}: ${connector?.lastError ?? ''}`);
    });
    assert.match(
      run.pipeline.connectors()[0]?.lastError ?? '',
      /authorizer refused access to .*cdc grants --kafka <principal> prints those the pipeline needs/,
    );
    assert.ok(!run.logText().includes(secure.limitedPassword), 'the password is in no log line');
  } finally {
    await run.stop();
  }
});
