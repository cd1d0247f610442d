/**
 * ensureTopic on a topic that already exists is the normal start of every pipeline: it must not log at error
 * level, also when several processes create the same topic at the same moment.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import kafkajs from 'kafkajs';
import { createKafka } from '../../../services/kafka/client.ts';
import { ensureTopic } from '../../../services/kafka/topics.ts';
import { SchemaStore } from '../../../services/kafka/schema-store.ts';
import { clusterOf } from '../../../services/kafka/security.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { CdcError } from '../../../common/errors.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { stack, uniqueName } from '../../support/stack.ts';

const topics: string[] = [];

after(async () => {
  await deleteKafkaState(topics, []);
});

function capturingLogger(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(text) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('ensureTopic', () => {
  test('an existing topic, and a creation race, log nothing at error level', async () => {
    const { logger, lines } = capturingLogger();
    const name = uniqueName('cdctopic');
    topics.push(name);
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-topics', logger });
    // Three at once: one creates it, the others find it exists (or lose the CreateTopics race).
    await Promise.all([1, 2, 3].map(() => ensureTopic(kafka, name, { partitions: 1 }, logger)));
    await ensureTopic(kafka, name, { partitions: 1 }, logger);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [name] });
      assert.equal(metadata.topics[0]?.partitions.length, 1);
    } finally {
      await admin.disconnect();
    }
    assert.equal(lines.filter((line) => line.msg === 'created topic').length, 1, 'created exactly once');
    const errors = lines.filter((line) => line.level >= 50);
    assert.deepStrictEqual(errors, [], 'no error-level log lines');
  });

  test('a max.message.bytes raised after creation is raised on the topic, keeping its own settings', async () => {
    const name = uniqueName('cdctopic');
    topics.push(name);
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-topics' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: name, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        ],
      });
      await ensureTopic(kafka, name, { partitions: 1, maxMessageBytes: 3_000_000 });
      // Smaller than the topic's: left as it is.
      await ensureTopic(kafka, name, { partitions: 1, maxMessageBytes: 2_000_000 });
      const described = await admin.describeConfigs({
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name,
            configNames: ['max.message.bytes', 'retention.ms'],
          },
        ],
        includeSynonyms: false,
      });
      const settings = Object.fromEntries(
        described.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]),
      );
      assert.deepStrictEqual(settings, { 'max.message.bytes': '3000000', 'retention.ms': '3600000' });
    } finally {
      await admin.disconnect();
    }
  });

  test('kafka.topicCreation reaches the topics: replication and min.insync on all, retention not on the compacted one', async () => {
    const prefix = uniqueName('cdctc');
    const config = parseConfig(
      JSON.stringify({
        name: 'tc',
        kafka: {
          brokers: stack.kafkaBrokers,
          topicPrefix: prefix,
          topicCreation: {
            replicationFactor: 1,
            minInsyncReplicas: 1,
            retentionMs: 86_400_000,
            retentionBytes: 1_073_741_824,
          },
        },
        sources: [{ name: 'src', kind: 'postgres', url: 'postgres://u@h/db' }],
      }),
      'json',
    );
    const cluster = clusterOf(config.kafka);
    const changelog = `${prefix}.src.changes`;
    topics.push(changelog, `${prefix}._schemas`);
    const kafka = createKafka({ ...cluster, clientId: 'test-topics' });
    await ensureTopic(kafka, changelog, { partitions: 1, settings: cluster.topicCreation });
    const schemas = new SchemaStore({ ...cluster, prefix });
    await schemas.ensureTopic();
    await schemas.close();

    const admin = kafka.admin();
    await admin.connect();
    try {
      const read = async (topic: string) => {
        const described = await admin.describeConfigs({
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: topic,
              configNames: ['min.insync.replicas', 'retention.ms', 'retention.bytes', 'cleanup.policy'],
            },
          ],
          includeSynonyms: false,
        });
        return Object.fromEntries(
          described.resources[0]!.configEntries.filter(
            (entry) => entry.configSource === kafkajs.ConfigSource.TOPIC_CONFIG,
          ).map((entry) => [entry.configName, entry.configValue]),
        );
      };
      assert.deepStrictEqual(await read(changelog), {
        'min.insync.replicas': '1',
        'retention.ms': '86400000',
        'retention.bytes': '1073741824',
      });
      assert.deepStrictEqual(await read(`${prefix}._schemas`), {
        'min.insync.replicas': '1',
        'cleanup.policy': 'compact',
      });
    } finally {
      await admin.disconnect();
    }
  });

  test('a replication factor the cluster cannot hold fails naming the field; nothing is created', async () => {
    const name = uniqueName('cdctopic');
    topics.push(name);
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-topics' });
    // The stack runs one broker.
    await assert.rejects(
      ensureTopic(kafka, name, { partitions: 1, settings: { replicationFactor: 3 } }),
      (error: unknown) => {
        assert.ok(error instanceof CdcError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.match(error.message, /kafka\.topicCreation\.replicationFactor/);
        assert.match(error.message, /3 copies/);
        return true;
      },
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(name));
    } finally {
      await admin.disconnect();
    }
  });

  test('an existing topic with other settings is left as it is, and the difference is logged', async () => {
    const { logger, lines } = capturingLogger();
    const name = uniqueName('cdctopic');
    topics.push(name);
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-topics', logger });
    await ensureTopic(kafka, name, { partitions: 1, settings: { retentionMs: 3_600_000 } }, logger);
    await ensureTopic(kafka, name, { partitions: 1, settings: { retentionMs: 7_200_000 } }, logger);
    const warned = lines.filter(
      (line) => line.level === 40 && /another setting/.test(line.msg),
    ) as unknown as {
      config: string;
      value: string;
      configured: string;
    }[];
    assert.deepStrictEqual(
      warned.map(({ config, value, configured }) => ({ config, value, configured })),
      [{ config: 'retention.ms', value: '3600000', configured: '7200000' }],
    );
  });
});
