/**
 * The partition Java's default partitioner picks for a keyed record: `toPositive(murmur2(key)) % partitions`
 * (Kafka's `BuiltInPartitioner.partitionForKey`). kafkajs's DefaultPartitioner computes exactly that for a
 * keyed message; wrapping it here keeps the library behind our interface and lets a unit test pin it to
 * Java's values, so a Java, Python (librdkafka `murmur2_random`) or Kafka Streams producer of the same key
 * would land on the same partition.
 */
import kafkajs from './kafkajs.ts';

type Pick = (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key: Buffer };
}) => number;

const pick = kafkajs.Partitioners.DefaultPartitioner() as unknown as Pick;
const metadataBySize = new Map<number, { partitionId: number; leader: number }[]>();

export function javaPartition(key: Buffer, partitions: number): number {
  let metadata = metadataBySize.get(partitions);
  if (!metadata) {
    metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
    metadataBySize.set(partitions, metadata);
  }
  return pick({ topic: '', partitionMetadata: metadata, message: { key } });
}
