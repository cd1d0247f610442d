/**
 * The `subscriberTopics` section of a source: Debezium-compatible per-table topics for subscribers, written
 * in the same Kafka transactions as the changelog (services/kafka/subscriber-topics.ts).
 */
import { z } from 'zod';

const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9._-]+$/;

export const subscriberTopicsSchema = z
  .strictObject({
    layout: z
      .enum(['per-table'], {
        error: 'must be "per-table" (one topic per table, as Debezium lays them out)',
      })
      .default('per-table')
      .meta({
        description:
          'One topic per table: `<prefix>.<schema>.<table>` (PostgreSQL) or `<prefix>.<database>.<table>` (MariaDB/MySQL).',
      }),
    format: z
      .enum(['debezium-json', 'debezium-avro'], {
        error:
          'must be "debezium-json" (Kafka Connect JsonConverter text) or "debezium-avro" (AvroConverter with kafka.schemaRegistry)',
      })
      .default('debezium-json')
      .meta({
        description:
          "Debezium 3.x's envelope as Kafka Connect's JsonConverter writes it (`debezium-json`), or as its AvroConverter does (`debezium-avro`: Confluent wire format, schemas in `kafka.schemaRegistry`, which it needs).",
      }),
    prefix: z
      .string()
      .regex(TOPIC_PREFIX_PATTERN, {
        error: 'must use only letters, digits, ".", "_" and "-" (Kafka topic rules)',
      })
      .optional()
      .meta({
        description:
          "Debezium's `topic.prefix`: starts every topic name and fills `source.name`. Default `<kafka.topicPrefix>.<source name>`.",
      }),
    schemas: z.boolean().default(true).meta({
      description:
        'Embed the Kafka Connect schema in each key and value (JsonConverter `schemas.enable=true`); false writes the bare payload.',
    }),
    partitions: z
      .int({ error: 'must be a whole number of partitions from 1 to 10000' })
      .min(1, { error: 'must be a whole number of partitions from 1 to 10000' })
      .max(10_000, { error: 'must be a whole number of partitions from 1 to 10000' })
      .default(1)
      .meta({
        description:
          "Partitions of each per-table topic when it is created. Records are keyed by primary key and partitioned as Java's default partitioner does (murmur2), so each key's changes stay in order.",
      }),
    tombstones: z.boolean().default(true).meta({
      description:
        "A record with the key and a null value after each delete, so a compacted topic forgets the row (Debezium's `tombstones.on.delete`).",
    }),
    transactionTopic: z.boolean().default(false).meta({
      description:
        "BEGIN and END records per source transaction on `<prefix>.transaction`, and the `transaction` block in each event (Debezium's `provide.transaction.metadata`).",
    }),
  })
  .optional()
  .meta({
    description:
      'Debezium-compatible topics for subscribers, written in the same Kafka transactions as the changelog (see Subscribing to the events). Absent: none.',
  });

export type SubscriberTopicsConfig = NonNullable<z.output<typeof subscriberTopicsSchema>>;

/** Debezium's topic.prefix of a source: the configured one, or `<kafka.topicPrefix>.<source name>`. */
export function subscriberPrefix(
  config: SubscriberTopicsConfig,
  topicPrefix: string,
  source: string,
): string {
  return config.prefix ?? `${topicPrefix}.${source}`;
}
