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
import { causeChain } from './cause-chain.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface ConnectorTopics {
  readonly changelog: string;
  readonly deadLetter: string;
  /** Events larger than kafka.maxEventBytes, by key and reason, when they are diverted rather than fatal. */
  readonly oversized: string;
  readonly schemas: string;
  /** The capture lease of `sources[].ha` (capture-lease.ts): one partition, never written to. */
  readonly lease: string;
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
    lease: `${prefix}.${connector}.lease`,
  };
}

/** `kafka.topicCreation`: applied when a topic is created (see services/config/kafka-topic-creation.ts). */
export interface TopicSettings {
  readonly replicationFactor?: number | undefined;
  readonly minInsyncReplicas?: number | undefined;
  readonly retentionMs?: number | undefined;
  readonly retentionBytes?: number | undefined;
}

export interface TopicOptions {
  readonly partitions: number;
  /** Replication and retention; retention does not apply to a compacted topic. The broker's defaults when absent. */
  readonly settings?: TopicSettings | undefined;
  /** Log compaction instead of time retention (the schema topic). */
  readonly compacted?: boolean;
  /**
   * The topic's `max.message.bytes` (the largest record batch it takes, after compression); an existing topic
   * with a smaller one is raised to it. The broker's `message.max.bytes` when not given.
   */
  readonly maxMessageBytes?: number;
}

/**
 * Creates the topic unless it exists; safe to call concurrently from several processes. Resolves to the topic's
 * partition count (an existing topic keeps its own).
 */
export async function ensureTopic(
  kafka: Kafka,
  name: string,
  options: TopicOptions,
  logger: Logger = silentLogger,
): Promise<number> {
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
            replicationFactor: options.settings?.replicationFactor ?? -1,
            configEntries: Object.entries(wantedConfigs(options)).map(([key, value]) => ({
              name: key,
              value,
            })),
          },
        ],
      }));
    if (created) {
      logger.info(
        {
          topic: name,
          partitions: options.partitions,
          compacted: options.compacted === true,
          ...options.settings,
        },
        'created topic',
      );
      return options.partitions;
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
    await reportOtherSettings(admin, name, options, partitionReplicas(metadata.topics[0]), logger);
    return partitions;
  } catch (error) {
    if (error instanceof CdcError) throw error;
    if (hasKafkaErrorType(error, 'INVALID_REPLICATION_FACTOR'))
      throw new CdcError(
        'CONFIG_INVALID',
        `kafka.topicCreation.replicationFactor: the cluster cannot hold ${options.settings?.replicationFactor} copies of topic ${name} (${errorMessage(error)}): it is at most the number of brokers`,
        { topic: name, field: 'kafka.topicCreation.replicationFactor' },
        { cause: error },
      );
    throw kafkaError(error, `cannot create topic ${name}`, { topic: name });
  } finally {
    await admin.disconnect();
  }
}

const MAX_MESSAGE_BYTES = 'max.message.bytes';

function hasKafkaErrorType(error: unknown, type: string): boolean {
  for (const shape of causeChain(error)) if (shape.type === type) return true;
  return false;
}

/** The topic-level configs a new topic gets, by Kafka's names. */
function wantedConfigs(options: TopicOptions): Record<string, string> {
  const settings = options.settings ?? {};
  const wanted: Record<string, string> = {};
  if (options.compacted) wanted['cleanup.policy'] = 'compact';
  if (options.maxMessageBytes !== undefined) wanted[MAX_MESSAGE_BYTES] = String(options.maxMessageBytes);
  if (settings.minInsyncReplicas !== undefined)
    wanted['min.insync.replicas'] = String(settings.minInsyncReplicas);
  // A compacted topic keeps the latest record of every key whatever its age: time or size retention would
  // delete schemas still in use.
  if (!options.compacted) {
    if (settings.retentionMs !== undefined) wanted['retention.ms'] = String(settings.retentionMs);
    if (settings.retentionBytes !== undefined) wanted['retention.bytes'] = String(settings.retentionBytes);
  }
  return wanted;
}

function partitionReplicas(topic: { partitions: { replicas: number[] }[] } | undefined): number | null {
  return topic?.partitions[0]?.replicas.length ?? null;
}

/**
 * An existing topic keeps its settings (an operator may have tuned them on purpose, and changing retention or
 * replication under running consumers is theirs to decide); a difference from `kafka.topicCreation` is logged once at
 * start-up so it does not go unnoticed.
 */
async function reportOtherSettings(
  admin: Admin,
  topic: string,
  options: TopicOptions,
  replicas: number | null,
  logger: Logger,
): Promise<void> {
  const settings = options.settings;
  if (settings === undefined) return;
  const wanted = wantedConfigs({ ...options, maxMessageBytes: undefined });
  delete wanted['cleanup.policy'];
  if (
    settings.replicationFactor !== undefined &&
    replicas !== null &&
    replicas !== settings.replicationFactor
  )
    logger.warn(
      { topic, replicationFactor: replicas, configured: settings.replicationFactor },
      'topic exists with another replication factor than kafka.topicCreation.replicationFactor; it is left as it is',
    );
  if (Object.keys(wanted).length === 0) return;
  const described = await admin.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  });
  const entries = described.resources[0]?.configEntries ?? [];
  for (const [config, value] of Object.entries(wanted)) {
    const current = entries.find((entry) => entry.configName === config)?.configValue;
    if (current !== value)
      logger.warn(
        { topic, config, value: current, configured: value },
        'topic exists with another setting than kafka.topicCreation; it is left as it is',
      );
  }
}

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
