/**
 * Stops a consumer group from passing over records that were deleted before it read them. kafkajs answers a
 * fetch from an offset the broker no longer holds (OFFSET_OUT_OF_RANGE) by committing the default offset
 * (the earliest record left, for our groups) and fetching from there, with an error line in the log and
 * nothing else: an apply worker stopped for longer than the changelog's retention would skip the deleted
 * changes, and the replica would never know. For the groups registered here, the recovery first asks for the
 * partition's earliest offset: when the group stood before it, the records in between are gone unread and the
 * consumer crashes with CHANGELOG_GAP (not retried), its committed offset untouched, so every later start stops
 * the same way until an operator decides. An offset past the end (the topic was recreated, or the log cut back
 * after an unclean leader election) loses nothing of ours: kafkajs's reset reads it all again, and the sink
 * skips what the target holds by its stored position.
 *
 * Patched on kafkajs's ConsumerGroup class, which every consumer shares, as kafkajs.ts loads it; the recovery
 * method is looked up on the instance at each call, so the patch holds whatever loaded kafkajs first.
 */
import { createRequire } from 'node:module';
import { CdcError } from '../../common/errors.ts';

interface OutOfRange {
  readonly topic: string;
  readonly partition: number;
}

interface ConsumerGroupShape {
  readonly groupId: string;
  readonly offsetManager: { nextOffset(topic: string, partition: number): { toString(): string } };
  readonly cluster: {
    fetchTopicsOffset(
      topics: readonly {
        topic: string;
        partitions: readonly { partition: number }[];
        fromBeginning: boolean;
      }[],
    ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  };
  readonly preferredReadReplicasPerTopicPartition: Record<string, Record<number, number> | undefined>;
  recoverFromOffsetOutOfRange(this: ConsumerGroupShape, error: OutOfRange): Promise<void>;
}

const guarded = new Map<string, number>();
const INSTALLED = Symbol.for('cdc.offsetResetGuard');
const require = createRequire(import.meta.url);

/** From now until the returned function is called, `groupId` stops at deleted records instead of passing them. */
export function guardOffsetResets(groupId: string): () => void {
  guarded.set(groupId, (guarded.get(groupId) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (guarded.get(groupId) ?? 1) - 1;
    if (left > 0) guarded.set(groupId, left);
    else guarded.delete(groupId);
  };
}

/** Idempotent: the first call patches kafkajs's recovery for the whole process. */
export function installOffsetResetGuard(): void {
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as {
    prototype: ConsumerGroupShape & { [INSTALLED]?: true };
  };
  const prototype = ConsumerGroup.prototype;
  if (prototype[INSTALLED]) return;
  // Called as kafkajs calls it, on the group: `this` is bound below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = prototype.recoverFromOffsetOutOfRange;
  prototype.recoverFromOffsetOutOfRange = async function (this: ConsumerGroupShape, error: OutOfRange) {
    const { topic, partition } = error;
    // Fetching from a follower, kafkajs first tries the leader: nothing is decided yet.
    const fromFollower = typeof this.preferredReadReplicasPerTopicPartition[topic]?.[partition] === 'number';
    if (guarded.has(this.groupId) && !fromFollower) {
      const from = BigInt(this.offsetManager.nextOffset(topic, partition).toString());
      const [listed] = await this.cluster.fetchTopicsOffset([
        { topic, partitions: [{ partition }], fromBeginning: true },
      ]);
      const earliest = BigInt(listed?.partitions.find((p) => p.partition === partition)?.offset ?? '0');
      if (from < earliest) throw changelogGap(this.groupId, topic, partition, from, earliest);
    }
    return original.call(this, error);
  };
  prototype[INSTALLED] = true;
}

function changelogGap(
  group: string,
  topic: string,
  partition: number,
  from: bigint,
  earliest: bigint,
): CdcError {
  return new CdcError(
    'CHANGELOG_GAP',
    `${topic}/${partition}: records at offsets ${from} to ${earliest - 1n} were deleted before consumer group ${group} read them (the topic's retention ran out, or it was emptied), so the replica misses their changes. Rebuild the replica from a new snapshot of the source; or, to accept the loss, move the group's offset to ${earliest} (kafka-consumer-groups --reset-offsets --to-earliest) and compare the replica with cdc verify`,
    { topic, partition, group, from: String(from), earliest: String(earliest) },
  );
}
