/**
 * Dead-letter replay at its edges, against real Kafka and a sink that fails if it is called at all:
 * - a replica that never dead-lettered anything (its dead-letter topic does not even exist): listing shows
 *   none, and a replay is done at once;
 * - two replays of one replica must not read together (two processes, say): each joins the replica's replay
 *   group, and the one left without the dead-letter topic's only partition stops with DLQ_REPLAY_BUSY before
 *   it applies anything. The other replay is played by a plain group member that keeps the partition for
 *   itself: as the group's leader it hands out the assignment (with the protocol name of kafkajs's default
 *   assigner, so the replay's consumer accepts it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignerProtocol, Kafka, logLevel, type PartitionAssigner } from 'kafkajs';
import type { Sink } from '../../../services/apply/sink.ts';
import { listDeadLetters } from '../../../services/dlq/list.ts';
import { replayDeadLetters } from '../../../services/dlq/replay.ts';
import { DeadLetterTopic, replayGroup } from '../../../services/kafka/dlq-reader.ts';
import { SchemaStore } from '../../../services/kafka/schema-store.ts';
import { CdcError } from '../../../common/errors.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const HOLDER = Buffer.from('holder');

/** Gives every partition to the member that announced itself as the holder, none to the others. */
const holderKeepsAll: PartitionAssigner = () => ({
  name: 'RoundRobinAssigner',
  version: 0,
  assign({ members, topics }) {
    return Promise.resolve(
      members.map(({ memberId, memberMetadata }) => {
        const holder = AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData.equals(HOLDER);
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: holder ? Object.fromEntries(topics.map((topic) => [topic, [0]])) : {},
            userData: Buffer.alloc(0),
          }),
        };
      }),
    );
  },
  protocol({ topics }) {
    return {
      name: 'RoundRobinAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: HOLDER }),
    };
  },
});

const untouchable: Sink = {
  prepare: () => Promise.reject(new Error('the replica must not be touched')),
  appliedPosition: () => Promise.reject(new Error('the replica must not be touched')),
  apply: () => Promise.reject(new Error('the replica must not be touched')),
  close: () => Promise.resolve(),
};

test('a second replay of the same replica stops with DLQ_REPLAY_BUSY and applies nothing', async () => {
  const prefix = uniqueName('dlq-busy').replaceAll('_', '-');
  const topic = new DeadLetterTopic({ brokers: stack.kafkaBrokers, prefix, source: 'src' });
  const schemas = new SchemaStore({ brokers: stack.kafkaBrokers, prefix });
  const kafka = new Kafka({
    brokers: stack.kafkaBrokers,
    clientId: 'test-dlq-busy',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const holder = kafka.consumer({
    groupId: replayGroup(prefix, 'dst'),
    partitionAssigners: [holderKeepsAll],
  });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topic.topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic: topic.topic, messages: [{ value: 'a dead letter' }] });

    let holding = false;
    holder.on(holder.events.GROUP_JOIN, ({ payload }) => {
      holding = (payload.memberAssignment[topic.topic] ?? []).includes(0);
    });
    await holder.connect();
    await holder.subscribe({ topics: [topic.topic], fromBeginning: true });
    await holder.run({ autoCommit: false, eachMessage: () => Promise.resolve() });
    await waitFor('the other replay to hold the partition', () => holding, { timeoutMs: 30_000 });

    await assert.rejects(
      replayDeadLetters({
        replica: 'dst',
        source: 'src',
        topic,
        schemas,
        sink: untouchable,
        signal: AbortSignal.timeout(60_000),
      }),
      (error: unknown) => error instanceof CdcError && error.code === 'DLQ_REPLAY_BUSY',
    );
    assert.ok(holding, 'the other replay keeps reading');
  } finally {
    await holder.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    await schemas.close();
    topic.close();
    await deleteKafkaState([topic.topic, `${prefix}._schemas`], [replayGroup(prefix, 'dst')]);
  }
});

test('without any dead letter, list shows none and replay is done at once', async () => {
  const prefix = uniqueName('dlq-none').replaceAll('_', '-');
  const options = { brokers: stack.kafkaBrokers, prefix };
  const topic = new DeadLetterTopic({ ...options, source: 'src' });
  const schemas = new SchemaStore(options);
  try {
    const page = await listDeadLetters(topic, { replica: 'dst' });
    assert.deepEqual(
      { entries: page.entries, low: page.low, high: page.high, next: page.next },
      { entries: [], low: '0', high: '0', next: null },
    );
    const progress = await replayDeadLetters({
      replica: 'dst',
      source: 'src',
      topic,
      schemas,
      sink: untouchable,
      signal: new AbortController().signal,
    });
    assert.deepEqual(
      { state: progress.state, from: progress.from, until: progress.until, replayed: progress.replayed },
      { state: 'done', from: '0', until: '0', replayed: 0 },
    );
  } finally {
    await schemas.close();
    topic.close();
  }
});
