import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from 'kafkajs';
import kafkajs from '../../../services/kafka/kafkajs.ts';
import { leaseAssigner } from '../../../services/kafka/capture-lease.ts';
import { silentLogger } from '../../../common/logger.ts';

const TOPIC = 'demo.src.lease';
const { AssignerProtocol } = kafkajs;

/** One group round: each member's subscription as its own assignor encodes it, then the leader's assignment. */
/** Members by id, each with since when it holds the lease (null: standing by). */
async function round(members: Record<string, number | null>): Promise<string[]> {
  const subscriptions = Object.entries(members).map(([memberId, holding]) => {
    const assigner = leaseAssigner(
      TOPIC,
      () => holding,
    )({
      cluster: {} as Cluster,
      groupId: 'g',
      logger: silentLogger as never,
    });
    return { memberId, memberMetadata: assigner.protocol({ topics: [TOPIC] }).metadata };
  });
  const leader = leaseAssigner(
    TOPIC,
    () => null,
  )({ cluster: {} as Cluster, groupId: 'g', logger: silentLogger as never });
  const assignments = await leader.assign({ members: subscriptions, topics: [TOPIC] });
  return assignments
    .filter((a) =>
      AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment[TOPIC]?.includes(0),
    )
    .map((a) => a.memberId);
}

void describe('capture lease assignor', () => {
  void test('exactly one member holds the lease; the first by id when nobody held it', async () => {
    assert.deepEqual(await round({ 'm-b': null, 'm-a': null, 'm-c': null }), ['m-a']);
    assert.deepEqual(await round({ solo: null }), ['solo']);
  });

  void test('the lease stays with its holder when a standby joins or rejoins', async () => {
    assert.deepEqual(await round({ 'm-a': null, 'm-b': 1_000 }), ['m-b']);
    assert.deepEqual(await round({ 'm-0': null, 'm-z': 1_000, 'm-c': null }), ['m-z']);
  });

  void test('two members that both claim it (a frozen holder back): the later holding keeps it', async () => {
    assert.deepEqual(await round({ 'm-a': 1_000, 'm-b': 2_000 }), ['m-b']);
    assert.deepEqual(await round({ 'm-a': 2_000, 'm-b': 1_000, 'm-c': null }), ['m-a']);
  });
});
