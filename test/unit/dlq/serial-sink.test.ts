/**
 * The sink an apply worker shares with dead-letter replay: calls from both take turns (a sink holds one target
 * session and one transaction at a time), in the order they were made, and a failing call does not stop the
 * next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApplyResult, Sink, SourceTransaction } from '../../../services/apply/sink.ts';
import { SerialSink } from '../../../services/dlq/serial-sink.ts';

const NOTHING: ApplyResult = { applied: 0, skipped: 0, failed: 0, position: null, commitTimeMicros: null };

/** Records when each call starts and ends; each call ends only when the test releases it. */
class GatedSink implements Sink {
  readonly log: string[] = [];
  readonly gates = new Map<string, PromiseWithResolvers<void>>();

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  appliedPosition(): Promise<null> {
    return Promise.resolve(null);
  }

  async apply(stream: string, _transactions: readonly SourceTransaction[]): Promise<ApplyResult> {
    const gate = Promise.withResolvers<void>();
    this.gates.set(stream, gate);
    this.log.push(`start ${stream}`);
    try {
      await gate.promise;
    } finally {
      this.log.push(`end ${stream}`);
    }
    return NOTHING;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('calls take turns in the order made, and a failed call lets the next one run', async () => {
  const inner = new GatedSink();
  const sink = new SerialSink(inner);
  const worker = sink.apply('worker', []);
  const replay = sink.apply('replay', [], { positionKey: 'replay' });
  const third = sink.apply('third', []);
  await settle();
  assert.deepEqual(inner.log, ['start worker'], 'the replay waits while the worker holds the sink');

  inner.gates.get('worker')!.reject(new Error('target gone'));
  await assert.rejects(worker, /target gone/);
  await settle();
  assert.deepEqual(inner.log, ['start worker', 'end worker', 'start replay']);

  inner.gates.get('replay')!.resolve();
  await replay;
  await settle();
  inner.gates.get('third')!.resolve();
  await third;
  assert.deepEqual(inner.log, [
    'start worker',
    'end worker',
    'start replay',
    'end replay',
    'start third',
    'end third',
  ]);
});
