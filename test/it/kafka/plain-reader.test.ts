/**
 * The changelog as a reader that knows nothing of our extensions sees it: a plain Avro library given only the
 * writer schema from the schema topic. PostgreSQL does not send an unchanged TOAST value; such a column must
 * read as the `cdc.event.Absent` record, never as a null or an empty string a consumer would take for data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import avsc from 'avsc';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { schemaTopic } from '../../../services/kafka/topics.ts';
import { uniqueName, stack } from '../../support/stack.ts';
import { readRaw } from '../../support/raw-topic.ts';
import { waitFor } from '../../support/wait.ts';
import { connectorConfig, createSourceDb, type SourceDb } from '../postgres/pg-fixture.ts';
import { readBack } from './read-back.ts';

describe('the changelog read by a plain Avro reader', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('plainread');
  });
  after(async () => {
    await db.drop();
  });

  test('an unchanged TOAST column reads as cdc.event.Absent, not as a value; our decoder still leaves it out', async () => {
    await db.sql('CREATE TABLE docs (id int PRIMARY KEY, title text, body text NOT NULL, notes text)');
    await db.sql('ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL');
    await db.sql('ALTER TABLE docs ALTER COLUMN notes SET STORAGE EXTERNAL');
    await db.sql('INSERT INTO docs VALUES (1, $1, $2, $3)', [
      'first',
      'b'.repeat(20_000),
      'n'.repeat(20_000),
    ]);

    const prefix = uniqueName('plain');
    const config = connectorConfig(db, { tables: ['public.docs'] });
    const connector = new PostgresConnector(config);
    const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector: config.name });
    const stop = new AbortController();
    const running = publisher.run(connector, stop.signal);
    try {
      await waitFor('the connector to stream', () => connector.status().state === 'streaming');
      await db.sql(`UPDATE docs SET title = 'second' WHERE id = 1`);
      const [message] = await readRaw(publisher.topics.changelog, (messages) => messages.length >= 1);
      const value = message!.value!;
      const schemaId = value.subarray(2, 10).toString('hex');
      const schemas = await readRaw(schemaTopic(prefix), (messages) =>
        messages.some((m) => m.key?.toString() === schemaId),
      );
      const schemaText = schemas.find((m) => m.key?.toString() === schemaId)!.value!.toString('utf8');
      const body = value.subarray(10);

      // Wrapped unions, as Java and Confluent readers present them: every union value names its branch.
      const wrapped = avsc.Type.forSchema(JSON.parse(schemaText) as avsc.Schema, { wrapUnions: true });
      const seen = wrapped.fromBuffer(body) as {
        op: string;
        after: Record<string, Record<string, Record<string, unknown> | null>>;
      };
      const row = Object.values(seen.after)[0]!;
      assert.equal(seen.op, 'u');
      assert.equal(row.title?.string, 'second');
      assert.deepEqual(Object.keys(row.body ?? {}), ['cdc.event.Absent'], 'a NOT NULL unchanged column');
      assert.deepEqual(Object.keys(row.notes ?? {}), ['cdc.event.Absent'], 'a nullable unchanged column');

      // avsc's defaults (unions unwrapped where it can): the field holds a record, not a string or null.
      const plain = avsc.Type.forSchema(JSON.parse(schemaText) as avsc.Schema);
      const unwrapped = plain.fromBuffer(body) as { after: Record<string, unknown> };
      assert.equal(unwrapped.after.title, 'second');
      for (const column of ['body', 'notes']) {
        const held = unwrapped.after[column];
        assert.ok(typeof held === 'object' && held !== null, `${column} holds ${JSON.stringify(held)}`);
      }

      const [decoded] = await readBack(prefix, publisher.topics.changelog);
      assert.ok(decoded?.event.op === 'u');
      assert.deepEqual(decoded.event.after, { id: 1, title: 'second' });
      assert.deepEqual(decoded.event.unchanged, ['body', 'notes']);
    } finally {
      stop.abort();
      await running.catch(() => undefined);
    }
  });
});
