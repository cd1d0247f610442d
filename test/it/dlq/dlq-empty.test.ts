/**
 * A replica that never dead-lettered anything: its dead-letter topic does not even exist. Listing shows none,
 * and a replay is done at once without touching the replica (the sink here fails if it is called at all).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sink } from '../../../services/apply/sink.ts';
import { listDeadLetters } from '../../../services/dlq/list.ts';
import { replayDeadLetters } from '../../../services/dlq/replay.ts';
import { DeadLetterTopic } from '../../../services/kafka/dlq-reader.ts';
import { SchemaStore } from '../../../services/kafka/schema-store.ts';
import { stack, uniqueName } from '../../support/stack.ts';

const untouchable: Sink = {
  prepare: () => Promise.reject(new Error('the replica must not be touched')),
  appliedPosition: () => Promise.reject(new Error('the replica must not be touched')),
  apply: () => Promise.reject(new Error('the replica must not be touched')),
  close: () => Promise.resolve(),
};

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
