/**
 * Topic names and creation. Per source connector: one changelog topic with a single partition, because the
 * order of changes across tables (commit order) is the contract; keys (table + primary key) serve consumers that
 * group by row. A dead-letter topic for events an apply worker could not apply, and a side topic for events
 * larger than the configured maximum (kafka.oversizedEvents: sideTopic). Per deployment: the compacted schema
 * topic. Topics are created by the service only (the broker has auto-creation off).
 */
import type { Admin, Kafka } from 'kafkajs';
import kafkajs from './kafkajs.ts';
import { kafkaError } from './client.ts';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface ConnectorTopics {
  readonly changelog: string;
  readonly deadLetter: string;
  /** Events larger than kafka.maxEventBytes, by key and reason, when they are diverted rather than fatal. */
  readonly oversized: string;
  readonly schemas: string;
}

const LEGAL = /^[A-Za-z0-9._-]+$/;

function checked(name: string, what: string): string {
  if (!LEGAL.test(name) || name.length > 249) {
    throw new CdcError(
      'CONFIG_INVALID',
      `${what} ${JSON.stringify(name)} cannot be part of a Kafka topic name: use letters, digits, '.', '_' or '-'`,
      {
        value: name,
      },
    );
  }
  return name;
}

export function schemaTopic(prefix: string): string {
  return `${checked(prefix, 'topic prefix')}._schemas`;
}

export function connectorTopics(prefix: string, connector: string): ConnectorTopics {
  checked(prefix, 'topic prefix');
  checked(connector, 'connector name');
  return {
    changelog: `${prefix}.${connector}.changes`,
    deadLetter: `${prefix}.${connector}.dlq`,
    oversized: `${prefix}.${connector}.oversized`,
    schemas: schemaTopic(prefix),
  };
}

export interface TopicOptions {
  readonly partitions: number;
  /** Log compaction instead of time retention (the schema topic). */
  readonly compacted?: boolean;
  /**
   * The topic's `max.message.bytes` (the largest record batch it takes, after compression); an existing topic
   * with a smaller one is raised to it. The broker's `message.max.bytes` when not given.
   */
  readonly maxMessageBytes?: number;
}

/** Creates the topic unless it exists; safe to call concurrently from several processes. */
export async function ensureTopic(
  kafka: Kafka,
  name: string,
  options: TopicOptions,
  logger: Logger = silentLogger,
): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    // Checking first keeps the usual start (the topic is there) free of a refused CreateTopics request, which
    // kafkajs would log at error level.
    const exists = (await admin.listTopics()).includes(name);
    const created =
      !exists &&
      (await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: name,
            numPartitions: options.partitions,
            configEntries: [
              ...(options.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
              ...(options.maxMessageBytes !== undefined
                ? [{ name: MAX_MESSAGE_BYTES, value: String(options.maxMessageBytes) }]
                : []),
            ],
          },
        ],
      }));
    if (created) {
      logger.info(
        { topic: name, partitions: options.partitions, compacted: options.compacted === true },
        'created topic',
      );
      return;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [name] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (partitions !== options.partitions) {
      logger.warn(
        { topic: name, partitions, expected: options.partitions },
        'topic exists with another partition count',
      );
    }
    if (options.maxMessageBytes !== undefined)
      await raiseMaxMessageBytes(admin, name, options.maxMessageBytes, logger);
  } catch (error) {
    throw kafkaError(error, `cannot create topic ${name}`, { topic: name });
  } finally {
    await admin.disconnect();
  }
}

const MAX_MESSAGE_BYTES = 'max.message.bytes';

/**
 * Raises an existing topic's `max.message.bytes` to `wanted` (kafka.maxEventBytes was raised after the topic
 * was created). kafkajs only has the non-incremental AlterConfigs, which resets every setting it is not given,
 * so the topic's own settings (retention, ...) are sent along unchanged.
 */
async function raiseMaxMessageBytes(
  admin: Admin,
  topic: string,
  wanted: number,
  logger: Logger,
): Promise<void> {
  const { TOPIC } = kafkajs.ConfigResourceTypes;
  const described = await admin.describeConfigs({
    resources: [{ type: TOPIC, name: topic }],
    includeSynonyms: false,
  });
  const entries = described.resources[0]?.configEntries ?? [];
  const current = Number(entries.find((entry) => entry.configName === MAX_MESSAGE_BYTES)?.configValue);
  if (Number.isFinite(current) && current >= wanted) return;
  const own = entries
    .filter(
      (entry) =>
        entry.configSource === kafkajs.ConfigSource.TOPIC_CONFIG && entry.configName !== MAX_MESSAGE_BYTES,
    )
    .map((entry) => ({ name: entry.configName, value: entry.configValue }));
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: TOPIC,
        name: topic,
        configEntries: [...own, { name: MAX_MESSAGE_BYTES, value: String(wanted) }],
      },
    ],
  });
  logger.info({ topic, from: current, to: wanted }, 'raised the topic max.message.bytes');
}
