/** ChangePublisher against the local Kafka: every event once and in order, positions and state stored, acknowledgements after commit. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import type { CaptureBatch, ResumePoint } from '../../../connectors/connector.ts';
import { formatCommit, formatPosition, type CommitPosition } from '../../../schemas/positions/position.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { GeneratedSource, commitOf, ordinalOf } from './generator.ts';
import { readBack } from './read-back.ts';

const prefix = uniqueName('cdctest');
const publishers: ChangePublisher[] = [];

function publisher(connector: string): ChangePublisher {
  const created = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
  publishers.push(created);
  return created;
}

after(async () => {
  await Promise.all(publishers.map((p) => p.close()));
});

describe('ChangePublisher', () => {
  test('publishes every event once, in position order, with its position, state and headers; acknowledges committed positions', async () => {
    const connector = uniqueName('gen');
    const source = new GeneratedSource(connector, 12_345, 5);
    const first = publisher(connector);
    assert.deepStrictEqual(await first.readResumePoint(), { position: null, state: null });
    await first.run(source, new AbortController().signal);

    const status = first.status();
    assert.equal(status.eventsPublished, 12_345);
    assert.equal(status.state, 'stopped');
    assert.ok(status.transactions >= 3, `${status.transactions} transactions`);
    assert.equal(
      source.acknowledged.at(-1) && formatCommit(source.acknowledged.at(-1)!),
      formatCommit(commitOf(Math.floor(12_344 / 5))),
    );

    const events = await readBack(prefix, first.topics.changelog);
    assert.equal(events.length, 12_345);
    events.forEach((consumed, n) =>
      assert.equal(ordinalOf(consumed.event.source.position, 5), n, `event ${n} in order`),
    );
    assert.deepStrictEqual(events[42]!.event, source.event(42));
    assert.deepStrictEqual(events[7]!.event.after, { id: 7n, payload: null });

    const resume = await publisher(connector).readResumePoint();
    assert.equal(
      resume.position && formatPosition(resume.position),
      formatPosition(source.event(12_344).source.position),
    );
    assert.deepStrictEqual(resume.state, { ordinal: 12_345 });
  });

  test('a restart resumes after the stored position: re-sent events are skipped, not duplicated', async () => {
    const connector = uniqueName('gen');
    const total = 2_003;
    // First run stops after an uneven number of events: the stored position falls inside a transaction.
    const partial = new GeneratedSource(connector, 1_003, 5);
    await publisher(connector).run(partial, new AbortController().signal);
    const rest = new GeneratedSource(connector, total, 5);
    const second = publisher(connector);
    await second.run(rest, new AbortController().signal);
    assert.equal(
      second.status().eventsSkipped,
      3,
      'the three events of the partly published transaction were re-sent and dropped',
    );
    assert.equal(second.status().eventsPublished, total - 1_003);

    const events = await readBack(prefix, second.topics.changelog);
    assert.deepStrictEqual(
      events.map((consumed) => ordinalOf(consumed.event.source.position, 5)),
      Array.from({ length: total }, (_, n) => n),
    );
  });

  test('source transactions that come one at a time, each once the previous was acknowledged, each go out in a Kafka transaction of their own, empty ones too', async () => {
    const connector = uniqueName('gen');
    const source = new OneAtATime(connector, 120, 1);
    const lone = publisher(connector);
    await lone.run(source, new AbortController().signal);

    // Every other transaction is empty (a heartbeat): its Kafka transaction holds only the stored position,
    // begun right after the previous one committed, which Kafka may refuse for a moment (CONCURRENT_TRANSACTIONS).
    assert.equal(lone.status().transactions, 120);
    assert.equal(lone.status().eventsPublished, 60);
    assert.equal(source.acknowledged.length, 120);
    const events = await readBack(prefix, lone.topics.changelog);
    assert.deepStrictEqual(
      events.map((consumed) => ordinalOf(consumed.event.source.position, 1)),
      Array.from({ length: 60 }, (_, n) => 2 * n),
    );
  });

  test('a connector state too large for Kafka offset metadata fails with a message that says so', async () => {
    const connector = uniqueName('gen');
    const huge = new GeneratedSource(connector, 10, 5, 5000);
    const failing = publisher(connector);
    await assert.rejects(
      failing.run(huge, new AbortController().signal),
      /state is too large to store with its position: \d+ bytes/,
    );
    assert.equal(failing.status().state, 'failed');
    assert.match(failing.status().lastError ?? '', /too large/);
  });
});

/**
 * A source whose next transaction comes only once the previous one was acknowledged, as with a writer of one
 * transaction at a time: nothing is ever waiting behind a transaction, so each goes out on its own. Odd
 * transactions carry no events (heartbeats, or transactions of tables not captured).
 */
class OneAtATime extends GeneratedSource {
  #acknowledged: () => void = () => undefined;

  override async *stream(_resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch> {
    for (let n = 0; n < this.total && !signal.aborted; n++) {
      // A stop (or a failed publish, which ends the stream) also ends the wait, as a real source's socket would.
      const acknowledged = new Promise<void>((resolve) => {
        this.#acknowledged = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      yield { events: n % 2 === 0 ? [this.event(n)] : [], commit: commitOf(n) };
      await acknowledged;
    }
  }

  override acknowledge(commit: CommitPosition): Promise<void> {
    this.#acknowledged();
    return super.acknowledge(commit);
  }
}
