/**
 * Resume when the stored position lags behind the changelog: the offset metadata the publisher reads back can
 * be stale (kafkajs does not ask for stable offsets, and offsets can expire or be deleted). The publisher must
 * then resume after the last event in the topic itself: no event published twice, none lost.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, producerConfig } from '../../../services/kafka/client.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { deleteKafkaState, positionProblems } from '../../support/changelog.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { GeneratedSource, ordinalOf } from './generator.ts';
import { readBack } from './read-back.ts';

const prefix = uniqueName('cdctail');
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-resume-tail' });
const cleanup = { topics: new Set<string>(), groups: new Set<string>() };
const publishers: ChangePublisher[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.close()));
  await deleteKafkaState([...cleanup.topics], [...cleanup.groups]);
});

function publisher(connector: string): ChangePublisher {
  const created = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, maxEvents: 100 });
  publishers.push(created);
  cleanup.topics.add(created.topics.changelog);
  cleanup.groups.add(`${prefix}.capture.${connector}`);
  return created;
}

async function storedOffset(groupId: string, topic: string): Promise<{ offset: string; metadata: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partition = offsets[0]?.partitions.find((entry) => entry.partition === 0);
    return { offset: partition?.offset ?? '-1', metadata: partition?.metadata ?? '' };
  } finally {
    await admin.disconnect();
  }
}

/** Stores `metadata` as the group's offset metadata the way the publisher does: through a Kafka transaction. */
async function overwriteStored(
  groupId: string,
  topic: string,
  offset: string,
  metadata: string,
): Promise<void> {
  const producer = kafka.producer(
    producerConfig({ transactionalId: uniqueName('rewind'), idempotent: true, maxInFlightRequests: 1 }),
  );
  await producer.connect();
  try {
    const transaction = await producer.transaction();
    await transaction.sendOffsets({
      consumerGroupId: groupId,
      topics: [
        { topic, partitions: [{ partition: 0, offset, metadata } as { partition: number; offset: string }] },
      ],
    });
    await transaction.commit();
  } finally {
    await producer.disconnect();
  }
}

async function deleteGroup(groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}

async function assertExactlyOnce(topic: string, total: number): Promise<void> {
  const events = await readBack(prefix, topic);
  assert.deepStrictEqual(positionProblems(events), [], 'no duplicate and no reordering');
  assert.deepStrictEqual(
    events.map((consumed) => ordinalOf(consumed.event.source.position, 5)),
    Array.from({ length: total }, (_, n) => n),
    'every event once, in order',
  );
}

describe('resume after a stale stored position', () => {
  test('offset metadata rewound to an older position: the restart resumes after the changelog tail, no duplicate', async () => {
    const connector = uniqueName('gen');
    const groupId = `${prefix}.capture.${connector}`;
    const first = publisher(connector);
    await first.run(new GeneratedSource(connector, 200, 5), new AbortController().signal);
    const older = await storedOffset(groupId, first.topics.changelog);
    await publisher(connector).run(new GeneratedSource(connector, 500, 5), new AbortController().signal);

    // What a stale OffsetFetch answers: the metadata of an earlier transaction.
    await overwriteStored(groupId, first.topics.changelog, older.offset, older.metadata);
    assert.match((await storedOffset(groupId, first.topics.changelog)).metadata, /#4"/);

    const restarted = publisher(connector);
    const resume = await restarted.readResumePoint();
    const source = new GeneratedSource(connector, 800, 5);
    assert.equal(
      resume.position && formatPosition(resume.position),
      formatPosition(source.event(499).source.position),
      'resumes after the last event in the topic, not after the stale stored one',
    );
    assert.deepStrictEqual(resume.state, { ordinal: 200 }, 'the state still comes from the stored metadata');
    await restarted.run(source, new AbortController().signal);
    assert.equal(restarted.status().eventsPublished, 300);
    await assertExactlyOnce(first.topics.changelog, 800);
  });

  test('stored offsets deleted: the restart resumes after the changelog tail, no duplicate', async () => {
    const connector = uniqueName('gen');
    const groupId = `${prefix}.capture.${connector}`;
    const first = publisher(connector);
    await first.run(new GeneratedSource(connector, 303, 5), new AbortController().signal);
    await deleteGroup(groupId);
    assert.equal((await storedOffset(groupId, first.topics.changelog)).offset, '-1');

    const restarted = publisher(connector);
    await restarted.run(new GeneratedSource(connector, 600, 5), new AbortController().signal);
    assert.equal(restarted.status().eventsSkipped, 3, 'the re-sent start of the cut transaction was dropped');
    await assertExactlyOnce(first.topics.changelog, 600);
  });

  test('a changelog whose tail holds only an aborted transaction still yields the last committed event', async () => {
    const connector = uniqueName('gen');
    const first = publisher(connector);
    await first.run(new GeneratedSource(connector, 50, 5), new AbortController().signal);
    // An aborted transaction of 300 records after the last committed event: read_committed hides all of them.
    const producer = kafka.producer(
      producerConfig({ transactionalId: uniqueName('aborted'), idempotent: true, maxInFlightRequests: 1 }),
    );
    await producer.connect();
    try {
      const transaction = await producer.transaction();
      const messages = Array.from({ length: 300 }, (_, n) => ({
        value: `aborted ${n}`,
        partition: 0,
        headers: { 'cdc.position': 'pg:FF/0#0' },
      }));
      await transaction.send({ topic: first.topics.changelog, messages });
      await transaction.abort();
    } finally {
      await producer.disconnect();
    }
    // Without stored offsets, only the log can tell where publishing stopped.
    await deleteGroup(`${prefix}.capture.${connector}`);
    const resume = await publisher(connector).readResumePoint();
    assert.equal(
      resume.position && formatPosition(resume.position),
      formatPosition(new GeneratedSource(connector, 50, 5).event(49).source.position),
    );
  });
});
