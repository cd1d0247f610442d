/**
 * Topic names and creation. Per source connector: one changelog topic with a single partition, because the
 * order of changes across tables (commit order) is the contract; keys (table + primary key) serve consumers that
 * group by row. A dead-letter topic for events an apply worker could not apply. Per deployment: the compacted
 * schema topic. Topics are created by the service only (the broker has auto-creation off).
 */
import type { Kafka } from 'kafkajs';
import { kafkaError } from './client.ts';
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface ConnectorTopics {
  readonly changelog: string;
  readonly deadLetter: string;
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
    schemas: schemaTopic(prefix),
  };
}

export interface TopicOptions {
  readonly partitions: number;
  /** Log compaction instead of time retention (the schema topic). */
  readonly compacted?: boolean;
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
            configEntries: options.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
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
  } catch (error) {
    throw kafkaError(error, `cannot create topic ${name}`, { topic: name });
  } finally {
    await admin.disconnect();
  }
}
