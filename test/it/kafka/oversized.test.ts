/**
 * Rows larger than Kafka takes by default, against the real broker: an event up to kafka.maxEventBytes is
 * published (the changelog topic is created with a max.message.bytes to match); a larger one stops capture
 * with an error naming table, key, size and setting (`fail`), or goes to the side topic by key and reason while
 * capture goes on (`sideTopic`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import {
  PostgresConnector,
  type PostgresConnectorConfig,
} from '../../../connectors/postgres/postgres-connector.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import { ChangePublisher, type PublisherOptions } from '../../../services/kafka/publisher.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { assembleTransactions } from '../../../services/apply/transaction-assembler.ts';
import { CdcError } from '../../../common/errors.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { readRaw, headerText } from '../../support/raw-topic.ts';
import { waitFor } from '../../support/wait.ts';
import { connectorConfig, createSourceDb, type SourceDb } from '../postgres/pg-fixture.ts';
import { GeneratedSource } from './generator.ts';
import { readBack } from './read-back.ts';

const MIB = 1024 * 1024;

/** Text that does not compress: `bytes` characters. */
function incompressible(bytes: number): string {
  return randomBytes(Math.ceil(bytes / 2))
    .toString('hex')
    .slice(0, bytes);
}

async function topicMaxMessageBytes(topic: string): Promise<number> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-oversized' }).admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      resources: [
        { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
      ],
      includeSynonyms: false,
    });
    return Number(described.resources[0]?.configEntries[0]?.configValue);
  } finally {
    await admin.disconnect();
  }
}

describe('events larger than the broker takes', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('oversized');
  });
  after(async () => {
    await db.drop();
  });

  /** A capture of `table` into its own topics, with the given limits; stop() ends it and returns how it ended. */
  async function capture(table: string, options: Partial<PublisherOptions>, again?: PostgresConnectorConfig) {
    const config = again ?? connectorConfig(db, { tables: [`public.${table}`] });
    const connector = new PostgresConnector(config);
    const prefix = options.prefix ?? uniqueName('big');
    const publisher = new ChangePublisher({
      brokers: stack.kafkaBrokers,
      connector: config.name,
      ...options,
      prefix,
    });
    const abort = new AbortController();
    const ended = publisher.run(connector, abort.signal).then(
      () => null,
      (error: unknown) => error,
    );
    await waitFor('the connector to stream', () => connector.status().state === 'streaming');
    return {
      prefix,
      config,
      publisher,
      ended,
      async stop(): Promise<unknown> {
        abort.abort();
        return ended;
      },
    };
  }

  test('sideTopic: a row above kafka.maxEventBytes goes to the side topic by key and reason; a row above the broker default but under the limit is published; capture goes on', async () => {
    await db.sql('CREATE TABLE side_docs (id int PRIMARY KEY, body text)');
    const running = await capture('side_docs', {
      maxEventBytes: 2 * MIB,
      oversizedEvents: 'sideTopic',
      compression: 'zstd',
    });
    try {
      const large = incompressible(1.5 * MIB);
      await db.sql(`INSERT INTO side_docs VALUES (1, 'small')`);
      await db.sql('INSERT INTO side_docs VALUES (2, $1)', [large]);
      await db.sql('INSERT INTO side_docs VALUES (3, $1)', [incompressible(3 * MIB)]);
      // The oversized row as the last change of a transaction: the rest of it must still end as a whole one.
      await db.sql('BEGIN');
      await db.sql(`UPDATE side_docs SET body = 'before the big one' WHERE id = 2`);
      await db.sql('INSERT INTO side_docs VALUES (4, $1)', [incompressible(3 * MIB)]);
      await db.sql('COMMIT');
      await db.sql(`UPDATE side_docs SET body = 'still captured' WHERE id = 1`);

      const letters = await readRaw(running.publisher.topics.oversized, (messages) => messages.length >= 2);
      const described = letters.map(
        (letter) => JSON.parse(letter.value!.toString('utf8')) as Record<string, unknown>,
      );
      assert.deepEqual(
        described.map((d) => [d.table, d.op, d.key]),
        [
          ['public.side_docs', 'c', '{"id":3}'],
          ['public.side_docs', 'c', '{"id":4}'],
        ],
      );
      assert.ok(Number(described[0]!.bytes) > 3 * MIB, `size ${String(described[0]!.bytes)}`);
      assert.match(String(described[0]!.reason), /more than kafka\.maxEventBytes \(2097152\)/);
      assert.equal(headerText(letters[0]!, 'cdc.table'), 'public.side_docs');

      await waitFor('the update after the oversized rows to be published', () => {
        const status = running.publisher.status();
        return status.eventsPublished >= 4 && status;
      });
      const consumed = await readBack(running.prefix, running.publisher.topics.changelog);
      const events = consumed.map((c) => c.event);
      assert.deepEqual(
        events.map((event) => [event.op, event.after?.id]),
        [
          ['c', 1],
          ['c', 2],
          ['u', 2],
          ['u', 1],
        ],
        'rows 3 and 4 are not in the changelog; every other change is, once',
      );
      assert.ok(
        assembleTransactions(consumed).every((unit) => unit.transaction.complete),
        'the transaction that lost its last event to the side topic still ends in the changelog',
      );
      assert.equal(events[1]!.after?.body, large, 'a 1.5 MiB row arrives whole');
      assert.equal(running.publisher.status().eventsOversized, 2);
      assert.equal(running.publisher.status().state, 'running');
      assert.equal(await topicMaxMessageBytes(running.publisher.topics.changelog), 2 * MIB + 1024);
    } finally {
      assert.equal(await running.stop(), null);
    }
  });

  test('fail: a row above kafka.maxEventBytes stops capture with an error naming table, key, size and the setting; raised, the row arrives', async () => {
    await db.sql('CREATE TABLE fail_docs (id int PRIMARY KEY, body text)');
    const first = await capture('fail_docs', { oversizedEvents: 'fail' });
    const large = incompressible(1.5 * MIB);
    await db.sql(`INSERT INTO fail_docs VALUES (1, 'small')`);
    await db.sql('INSERT INTO fail_docs VALUES (2, $1)', [large]);
    const failure = await first.ended;
    assert.ok(failure instanceof CdcError, `ended with ${String(failure)}`);
    assert.equal(failure.code, 'EVENT_TOO_LARGE');
    assert.equal(failure.retriable, false);
    assert.match(failure.message, /public\.fail_docs/);
    assert.match(failure.message, /key \{"id":2\}/);
    assert.match(failure.message, /is \d{7} bytes encoded, more than kafka\.maxEventBytes \(1048576\)/);
    assert.match(failure.message, /kafka\.oversizedEvents: sideTopic/);

    // The user raises the limit and restarts: the topic's limit is raised too, and nothing was lost.
    const second = await capture(
      'fail_docs',
      { prefix: first.prefix, maxEventBytes: 4 * MIB, oversizedEvents: 'fail' },
      first.config,
    );
    try {
      // Row 1 went out before the failure when it had a Kafka transaction of its own, else it goes out now.
      const before = first.publisher.status().eventsPublished;
      await waitFor(
        'both rows to be published',
        () => before + second.publisher.status().eventsPublished >= 2,
      );
      const events = (await readBack(first.prefix, first.publisher.topics.changelog)).map((c) => c.event);
      assert.deepEqual(
        events.map((event) => event.after?.id),
        [1, 2],
      );
      assert.equal(events[1]!.after?.body, large);
      assert.equal(await topicMaxMessageBytes(first.publisher.topics.changelog), 4 * MIB + 1024);
    } finally {
      assert.equal(await second.stop(), null);
    }
  });

  test('an event larger than the consumer fetch size (4 MiB) is published and read back whole', async () => {
    const source = new (class extends GeneratedSource {
      override event(n: number): ChangeEvent {
        const event = super.event(n);
        return n === 1 ? ({ ...event, after: { id: 1n, payload: huge } } as ChangeEvent) : event;
      }
    })(uniqueName('gen'), 3, 3);
    const huge = incompressible(10 * MIB);
    const prefix = uniqueName('huge');
    const publisher = new ChangePublisher({
      brokers: stack.kafkaBrokers,
      prefix,
      connector: source.name,
      maxEventBytes: 16 * MIB,
    });
    await publisher.run(source, new AbortController().signal);
    const events = (await readBack(prefix, publisher.topics.changelog)).map((consumed) => consumed.event);
    assert.equal(events.length, 3);
    assert.equal(events[1]!.after?.payload, huge);
  });
});
