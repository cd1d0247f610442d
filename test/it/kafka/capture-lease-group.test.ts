/**
 * The capture lease (`sources[].ha`) as /status reports it: two processes' leases on one group, in one test
 * process against the stack's Kafka. One holds the lease, the other stands by, and both name the same holder and
 * a group of two; when the holder leaves, the standby takes the lease and then names itself, alone in the group.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { CaptureLease } from '../../../services/kafka/capture-lease.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

test('each lease member names the holder and the group size; the standby takes over when the holder leaves', async () => {
  const groupId = uniqueName('lease-group');
  const topic = uniqueName('lease-topic');
  const lease = (name: string) =>
    new CaptureLease({
      kafka: createKafka({ brokers: stack.kafkaBrokers, clientId: `test-lease-${name}` }),
      groupId,
      topic,
      sessionTimeoutMs: 10_000,
      logger: silentLogger,
    });
  const holds = (signal: AbortSignal) =>
    new Promise<{ fenced: boolean; failed: boolean }>((resolve) =>
      signal.addEventListener('abort', () => resolve({ fenced: false, failed: false }), { once: true }),
    );
  const a = lease('a');
  const b = lease('b');
  const stopA = new AbortController();
  const stopB = new AbortController();
  const runs = [a.run(holds, stopA.signal), b.run(holds, stopB.signal)];
  try {
    await waitFor(
      'one lease active, one standby, both naming the holder in a group of two',
      () =>
        Promise.resolve(
          [a.state, b.state].sort().join() === 'active,standby' &&
            a.group?.members === 2 &&
            b.group?.members === 2 &&
            a.group.holder !== null &&
            a.group.holder.member === b.group.holder?.member,
        ),
      { timeoutMs: 60_000 },
    );
    const [holder, standby, stopHolder] = a.state === 'active' ? [a, b, stopA] : [b, a, stopB];
    assert.ok(holder.heldSince !== null && standby.heldSince === null);
    const holderMember = holder.group!.holder!.member;
    assert.match(holderMember, /^test-lease-[ab]-/);
    assert.equal(
      holderMember.startsWith(`test-lease-${holder === a ? 'a' : 'b'}-`),
      true,
      'the holder is named',
    );
    stopHolder.abort();
    await waitFor(
      'the standby to take the lease and name itself, alone in the group',
      () =>
        Promise.resolve(
          standby.state === 'active' &&
            standby.group?.members === 1 &&
            standby.group.holder !== null &&
            standby.group.holder.member !== holderMember,
        ),
      { timeoutMs: 60_000 },
    );
  } finally {
    stopA.abort();
    stopB.abort();
    await Promise.all(runs);
  }
});
