/**
 * An idle Kafka client does not spin: after its requests are answered, a broker connection sets no timers but
 * its request-timeout check (kafkajs 2.2.4 alone re-arms a pending-request check every millisecond; see
 * services/kafka/client.ts).
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { test } from 'node:test';
import { createKafka } from '../../../services/kafka/client.ts';
import { stack } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

test('an idle connected client arms no timer every millisecond', async () => {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-idle' }).admin();
  await admin.connect();
  try {
    await admin.listTopics();
    let timers = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'Timeout') timers++;
      },
    });
    const started = Date.now();
    hook.enable();
    // Half a second of idling: the spinning check would arm about 500 timers; the request-timeout check is an
    // interval, armed once.
    await waitFor('half a second of idling', () => Date.now() - started >= 500, { intervalMs: 100 });
    hook.disable();
    assert.ok(timers < 50, `${timers} timers armed while idle`);
  } finally {
    await admin.disconnect();
  }
});
