/**
 * Where a replica reads its source's changelog and the schemas of its events: the pipeline's own cluster under
 * its own topic prefix, or a copy elsewhere (`replicas[].via`), such as MirrorMaker 2's mirror of another
 * region's topics. The schema topic is read from the same place as the changelog: a mirror carries both, so
 * the apply side never needs the origin region's cluster.
 */
import type { KafkaConfig, ReplicaConfig } from '../config/schema.ts';
import { connectorTopics } from '../kafka/topics.ts';
import type { KafkaCluster } from '../kafka/security.ts';

/** A copy in another cluster is reached with the pipeline's own `kafka.tls` and `kafka.sasl`. */
export interface ChangelogSource extends KafkaCluster {
  /** Topic prefix of the changelog and schema topics there. */
  readonly prefix: string;
  readonly changelog: string;
}

export function changelogSource(replica: ReplicaConfig, kafka: KafkaConfig): ChangelogSource {
  const prefix = replica.via?.topicPrefix ?? kafka.topicPrefix;
  return {
    brokers: replica.via?.brokers ?? kafka.brokers,
    tls: kafka.tls,
    sasl: kafka.sasl,
    // A mirrored copy keeps the ids of its records, so it is read against the same registry.
    schemaRegistry: kafka.schemaRegistry,
    prefix,
    changelog: connectorTopics(prefix, replica.source).changelog,
  };
}
