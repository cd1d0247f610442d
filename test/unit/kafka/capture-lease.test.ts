import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from 'kafkajs';
import kafkajs from '../../../services/kafka/kafkajs.ts';
import { leaseAssigner } from '../../../services/kafka/capture-lease.ts';
import { silentLogger } from '../../../common/logger.ts';

const TOPIC = 'demo.src.lease';
const { AssignerProtocol } = kafkajs;

/** One group round: each member's subscription as its own assignor encodes it, then the leader's assignment. */
async function round(members: Record<string, boolean>): Promise<string[]> {
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
    () => false,
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
    assert.deepEqual(await round({ 'm-b': false, 'm-a': false, 'm-c': false }), ['m-a']);
    assert.deepEqual(await round({ solo: false }), ['solo']);
  });

  void test('the lease stays with its holder when a standby joins or rejoins', async () => {
    assert.deepEqual(await round({ 'm-a': false, 'm-b': true }), ['m-b']);
    assert.deepEqual(await round({ 'm-0': false, 'm-z': true, 'm-c': false }), ['m-z']);
  });

  void test('two members that both think they hold it (a cut-off holder back): still exactly one', async () => {
    assert.equal((await round({ 'm-x': true, 'm-y': true })).length, 1);
  });
});
