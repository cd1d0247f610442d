/** A source's `subscriberTopics` configuration as the publisher takes it. */
import type { SourceConfig } from '../config/schema.ts';
import { subscriberPrefix, type SubscriberTopicsConfig } from '../config/subscriber-topics.ts';
import type { SubscriberTopicsOptions } from '../kafka/subscriber-topics.ts';
import { packageVersion } from '../cli/version.ts';

export function subscriberTopicsOptions(
  source: SourceConfig,
  config: SubscriberTopicsConfig,
  topicPrefix: string,
): SubscriberTopicsOptions {
  return {
    prefix: subscriberPrefix(config, topicPrefix, source.name),
    format: config.format,
    schemas: config.schemas,
    partitions: config.partitions,
    tombstones: config.tombstones,
    transactionTopic: config.transactionTopic,
    binlogFlavor: source.kind === 'mysql' ? 'mysql' : 'mariadb',
    version: packageVersion(),
  };
}
