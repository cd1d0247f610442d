/**
 * Crash recovery of the capture side: the publisher runs in a child process that is killed with SIGKILL at
 * random points (during start-up and mid-stream, so often inside an open Kafka transaction), restarted each
 * time from its stored resume point; at the end the changelog holds every event exactly once, in order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { ordinalOf } from './generator.ts';
import { endOffset, readBack } from './read-back.ts';

const CHILD = fileURLToPath(new URL('./capture-child.ts', import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly output: { text: string };
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function startChild(prefix: string, connector: string, total: number): Child {
  const child = spawn(process.execPath, [CHILD, prefix, connector, String(total)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  return {
    process: child,
    output,
    exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
  };
}

describe('capture crash recovery', () => {
  test('killed with SIGKILL at random points and restarted, the changelog holds every event exactly once, in position order', async (t) => {
    const prefix = uniqueName('cdccrash');
    const connector = uniqueName('gen');
    const total = 40_000;
    const topic = connectorTopics(prefix, connector).changelog;
    const kills: string[] = [];

    for (let round = 0; round < 5; round++) {
      const child = startChild(prefix, connector, total);
      await waitFor(
        'the capture child to start',
        () => child.output.text.includes('started') || child.process.exitCode !== null,
      );
      if (round === 0) {
        // Right after start: usually before or during the first transaction.
        await waitFor(
          'the changelog topic to exist',
          async () => (await endOffset(topic).catch(() => -1n)) >= 0n,
          { intervalMs: 20 },
        );
      } else {
        const from = await endOffset(topic);
        const target = from + BigInt(500 + Math.floor(Math.random() * 4000));
        await waitFor(
          `the changelog to pass offset ${target}`,
          async () => child.process.exitCode !== null || (await endOffset(topic)) >= target,
          {
            intervalMs: 20,
          },
        );
      }
      assert.equal(
        child.process.exitCode,
        null,
        `child finished before it could be killed in round ${round}: ${child.output.text}`,
      );
      child.process.kill('SIGKILL');
      const [, signal] = await child.exited;
      assert.equal(signal, 'SIGKILL');
      kills.push(String(await endOffset(topic)));
    }

    t.diagnostic(`changelog end offsets after each kill: ${kills.join(', ')}`);
    const last = startChild(prefix, connector, total);
    const [code] = await last.exited;
    assert.equal(code, 0, `final run failed: ${last.output.text}`);
    assert.match(last.output.text, /done /);

    const events = await readBack(prefix, topic);
    const ordinals = events.map((consumed) => ordinalOf(consumed.event.source.position, 5));
    const seen = new Set(ordinals);
    assert.equal(seen.size, ordinals.length, `no event twice (killed at offsets ${kills.join(', ')})`);
    assert.equal(ordinals.length, total, 'no event lost');
    assert.deepStrictEqual(
      ordinals,
      Array.from({ length: total }, (_, n) => n),
      'in position order',
    );
  });
});
