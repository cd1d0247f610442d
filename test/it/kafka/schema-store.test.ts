/** The embedded schema store: a schema registered by one process is found by another, by its fingerprint. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent } from '../../../schemas/avro/codec.ts';
import { SchemaStore } from '../../../services/kafka/schema-store.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { GeneratedSource } from './generator.ts';

describe('SchemaStore', () => {
  test('register is idempotent and lookup from a fresh store finds the schema with its metadata; unknown ids are undefined', async () => {
    const prefix = uniqueName('cdcschema');
    const { value } = encodeEvent(new GeneratedSource('gen', 1).event(0)).schemas;
    const writer = new SchemaStore({ brokers: stack.kafkaBrokers, prefix });
    const reader = new SchemaStore({ brokers: stack.kafkaBrokers, prefix });
    try {
      assert.equal(await writer.register(value), true);
      assert.equal(await writer.register(value), false, 'a known schema is not written again');
      const found = await reader.lookup(value.id);
      assert.ok(found, `schema ${value.id} found in ${reader.topic}`);
      assert.equal(found.json, value.json);
      assert.equal(found.fingerprint, value.fingerprint);
      assert.equal(reader.cached(value.id), found);
      assert.equal(await reader.lookup('00000000deadbeef'), undefined);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
