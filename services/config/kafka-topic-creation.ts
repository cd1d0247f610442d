/**
 * `kafka.topicCreation`: how the topics the service creates are set up on the cluster. A production cluster keeps
 * each record on several brokers and refuses a write that fewer than `min.insync.replicas` of them hold; the
 * broker's defaults (often one copy) would leave the changelog, the only copy of the captured changes once the
 * source released them, on one disk. Applied when a topic is created; an existing topic keeps its own
 * settings, and a difference is logged at start-up.
 */
import { z } from 'zod';

const wholeCount = (field: string) =>
  z.int({ error: `${field} must be a whole number` }).min(1, { error: `${field} must be at least 1` });

/** -1 is Kafka's own "no limit". */
const limit = (unit: string) =>
  z
    .int({ error: `must be a whole number of ${unit}, or -1 for no limit` })
    .min(-1, { error: `must be a whole number of ${unit}, or -1 for no limit` })
    .refine((value) => value !== 0, {
      error: `must not be 0 (it would delete records at once): use -1 for no limit`,
    });

export const kafkaTopicCreationSchema = z
  .strictObject({
    replicationFactor: wholeCount('replicationFactor').optional().meta({
      description:
        "Copies of each topic's records across the brokers (`replication.factor`). Default the broker's `default.replication.factor`.",
    }),
    minInsyncReplicas: wholeCount('minInsyncReplicas').optional().meta({
      description:
        "Copies a write must reach before it counts (`min.insync.replicas`; the service always produces with acks=all). At most `replicationFactor`. Default the broker's.",
    }),
    retentionMs: limit('milliseconds').optional().meta({
      description:
        "How long the changelog, dead-letter and oversized topics keep records (`retention.ms`, -1 forever). A replica stopped for longer misses changes and stops with CHANGELOG_GAP. Default the broker's (7 days). The schema topic is compacted and keeps every schema.",
    }),
    retentionBytes: limit('bytes').optional().meta({
      description:
        "Most bytes a partition of those topics keeps (`retention.bytes`, -1 no limit). Default the broker's.",
    }),
  })
  .superRefine((topics, ctx) => {
    if (
      topics.replicationFactor !== undefined &&
      topics.minInsyncReplicas !== undefined &&
      topics.minInsyncReplicas > topics.replicationFactor
    )
      ctx.addIssue({
        code: 'custom',
        path: ['minInsyncReplicas'],
        message: `must be at most replicationFactor (${topics.replicationFactor}): no write could ever reach ${topics.minInsyncReplicas} copies`,
      });
  });

export type KafkaTopicSettings = z.infer<typeof kafkaTopicCreationSchema>;
