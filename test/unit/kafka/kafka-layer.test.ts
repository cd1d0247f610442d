/** The parts of the Kafka layer that need no broker: topic names, error mapping, the capture run and its guard. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureRun, chunks } from '../../../services/kafka/capture-run.ts';
import { isFenced, kafkaError } from '../../../services/kafka/client.ts';
import { connectorTopics, schemaTopic } from '../../../services/kafka/topics.ts';
import { CdcError } from '../../../common/errors.ts';
import { GeneratedSource, commitOf } from '../../it/kafka/generator.ts';

describe('topic names', () => {
  test('changelog, dead-letter, oversized-event, schema and lease topics follow the prefix and connector', () => {
    assert.deepStrictEqual(connectorTopics('prod', 'orders-pg'), {
      changelog: 'prod.orders-pg.changes',
      deadLetter: 'prod.orders-pg.dlq',
      oversized: 'prod.orders-pg.oversized',
      schemas: 'prod._schemas',
      lease: 'prod.orders-pg.lease',
    });
    assert.equal(schemaTopic('x'), 'x._schemas');
  });

  test('a connector name Kafka cannot use is refused with the name in the message', () => {
    assert.throws(
      () => connectorTopics('prod', 'orders pg/1'),
      (error: unknown) => {
        return (
          error instanceof CdcError &&
          error.code === 'CONFIG_INVALID' &&
          error.message.includes('"orders pg/1"')
        );
      },
    );
  });
});

describe('kafka error mapping', () => {
  test('a stale producer epoch anywhere in the cause chain is KAFKA_FENCED', () => {
    const protocol = Object.assign(new Error('old epoch'), {
      name: 'KafkaJSProtocolError',
      type: 'INVALID_PRODUCER_EPOCH',
      code: 47,
      retriable: false,
    });
    const wrapped = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: protocol,
    });
    assert.ok(isFenced(wrapped));
    const mapped = kafkaError(wrapped, 'cannot publish');
    assert.equal(mapped.code, 'KAFKA_FENCED');
    assert.equal(mapped.retriable, false);
    assert.match(mapped.message, /another instance took over/);
  });

  test('connection trouble is a retriable KAFKA_UNAVAILABLE; a protocol error Kafka calls final is not retriable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    });
    assert.deepStrictEqual(
      [kafkaError(refused, 'x').code, kafkaError(refused, 'x').retriable],
      ['KAFKA_UNAVAILABLE', true],
    );
    const tooLarge = Object.assign(new Error('too large'), {
      name: 'KafkaJSProtocolError',
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
    });
    assert.equal(kafkaError(tooLarge, 'x').retriable, false);
    // A member the coordinator forgot (its session expired while the broker was away) joins again.
    const forgotten = Object.assign(new Error('The coordinator is not aware of this member'), {
      name: 'KafkaJSProtocolError',
      type: 'UNKNOWN_MEMBER_ID',
      code: 25,
      retriable: false,
    });
    const commitFailed = Object.assign(new Error('commit failed'), { cause: forgotten });
    assert.equal(kafkaError(commitFailed, 'cannot commit offsets').retriable, true);
  });
});

describe('capture run', () => {
  test('drops events at or before the last published position and counts them', () => {
    const source = new GeneratedSource('gen', 20, 5);
    const run = new CaptureRun({ position: source.event(6).source.position, state: null }, () => false);
    run.add(
      { events: [5, 6, 7, 8, 9].map((n) => source.event(n)), commit: commitOf(1), state: { ordinal: 10 } },
      1,
    );
    assert.equal(run.skipped, 2);
    assert.equal(run.events, 3);
    assert.deepStrictEqual(run.position, source.event(9).source.position);
    assert.deepStrictEqual(run.state, { ordinal: 10 });
    assert.deepStrictEqual(run.commit, commitOf(1));
    assert.equal(run.newSchemas.size, 2, 'value and key schema, not yet registered');
    // Values go out as strings or shared Buffers; a consumer reads the same bytes either way.
    const headers = Object.fromEntries(
      Object.entries(run.messages[0]!.headers as Record<string, string | Buffer>).map(([name, value]) => [
        name,
        value.toString(),
      ]),
    );
    assert.deepStrictEqual(headers, {
      'cdc.position': 'pg:0/1010#2',
      'cdc.table': 'public.items',
      'cdc.op': 'c',
      'cdc.tx': '1',
    });
    const next = run.next();
    assert.deepStrictEqual([next.events, next.position, next.state], [0, run.position, run.state]);
  });

  test('the next run does not register again the schemas of the run whose transaction is still being written', () => {
    const source = new GeneratedSource('gen', 20, 5);
    const first = new CaptureRun({ position: null, state: null }, () => false);
    first.add({ events: [source.event(0)], commit: commitOf(0) }, 1);
    assert.equal(first.newSchemas.size, 2);
    const second = first.next();
    second.add({ events: [source.event(1)], commit: commitOf(0) }, 2);
    assert.equal(second.newSchemas.size, 0);
    assert.equal(second.events, 1);
  });

  test('chunks stay under the byte limit and keep message order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.alloc(400, i) }));
    const split = chunks(messages, 1000);
    assert.deepStrictEqual(
      split.map((chunk) => chunk.length),
      [2, 2, 2, 2, 2],
    );
    assert.deepStrictEqual(split.flat(), messages);
  });

  test('chunks also stop at the message limit', () => {
    const messages = Array.from({ length: 7 }, (_, i) => ({ key: null, value: Buffer.alloc(10, i) }));
    const split = chunks(messages, 1_000_000, 3);
    assert.deepStrictEqual(
      split.map((chunk) => chunk.length),
      [3, 3, 1],
    );
    assert.deepStrictEqual(split.flat(), messages);
  });
});
