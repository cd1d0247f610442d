/**
 * The Kafka ACLs of a pipeline's principal, for a cluster with an authorizer. Every name the pipeline uses
 * starts with its topic prefix (topics `<prefix>.<source>.changes|dlq|oversized` and `<prefix>._schemas`,
 * consumer groups `<prefix>.apply.<replica>`, `<prefix>.capture.<source>`, `<prefix>.dlq-replay.<replica>`
 * and the schema and changelog readers' own, transactional ids `<prefix>.capture.<source>`), so prefixed
 * ACLs cover them and nothing of anyone else's. Capture creates the topics and raises their
 * `max.message.bytes`, writes them in transactions and reads back its schemas and last published point;
 * apply reads the changelog and schemas and writes the dead-letter topic.
 */
import type { PipelineConfig } from '../config/schema.ts';

export type AclResource = 'topic' | 'group' | 'transactional-id';
export type AclOperation = 'Read' | 'Write' | 'Create' | 'Describe' | 'DescribeConfigs' | 'AlterConfigs';

export interface KafkaAcl {
  readonly resource: AclResource;
  /** A prefix: every name starting with it. */
  readonly prefix: string;
  readonly operations: readonly AclOperation[];
}

export interface KafkaAclBlock {
  readonly title: string;
  readonly acls: readonly KafkaAcl[];
}

const TOPIC_OPERATIONS: readonly AclOperation[] = [
  'Create',
  'Describe',
  'DescribeConfigs',
  'AlterConfigs',
  'Read',
  'Write',
];

export function kafkaAclBlocks(config: PipelineConfig): KafkaAclBlock[] {
  const prefix = `${config.kafka.topicPrefix}.`;
  const blocks: KafkaAclBlock[] = [];
  if (config.sources.length > 0) {
    blocks.push({
      title: `capture (${config.sources.map((s) => s.name).join(', ')})`,
      acls: [
        { resource: 'topic', prefix, operations: TOPIC_OPERATIONS },
        { resource: 'group', prefix, operations: ['Read', 'Describe'] },
        { resource: 'transactional-id', prefix: `${prefix}capture.`, operations: ['Write', 'Describe'] },
      ],
    });
  }
  if (config.replicas.length > 0) {
    blocks.push({
      title: `apply (${config.replicas.map((r) => r.name).join(', ')})`,
      acls: [
        // Read the changelogs and schemas; create and write the dead-letter topics.
        { resource: 'topic', prefix, operations: TOPIC_OPERATIONS },
        { resource: 'group', prefix, operations: ['Read', 'Describe'] },
      ],
    });
  }
  return blocks;
}

/** The blocks as `kafka-acls.sh` commands for `principal` (`User:name`). */
export function formatKafkaAcls(
  blocks: readonly KafkaAclBlock[],
  principal: string,
  brokers: readonly string[],
): string {
  const flag: Record<AclResource, string> = {
    topic: '--topic',
    group: '--group',
    'transactional-id': '--transactional-id',
  };
  return blocks
    .map((block) =>
      [
        `# Kafka ACLs of ${block.title} for ${principal} (a process running both needs both)`,
        ...block.acls.map(
          (acl) =>
            `kafka-acls.sh --bootstrap-server ${brokers.join(',')} --add --allow-principal '${principal}' ${acl.operations
              .map((operation) => `--operation ${operation}`)
              .join(' ')} ${flag[acl.resource]} '${acl.prefix}' --resource-pattern-type prefixed`,
        ),
      ].join('\n'),
    )
    .join('\n\n');
}
