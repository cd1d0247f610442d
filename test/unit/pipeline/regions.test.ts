/**
 * A region's part of a topology and where its links read the other regions' changelogs: `replicas[].via` (here
 * through a link's `apply`), validated with exact paths, turned into the brokers, topic prefix and changelog
 * topic the apply worker and dead-letter replay read; `--region` picks the captures and apply workers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CdcError } from '../../../common/errors.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { changelogSource } from '../../../services/pipeline/changelog-source.ts';
import { regionScope } from '../../../services/pipeline/region-scope.ts';

function config(via: unknown) {
  return JSON.stringify({
    name: 'regions',
    kafka: { brokers: ['kafka-us:9092'], topicPrefix: 'cdc' },
    topology: {
      shape: 'pair',
      nodes: [
        { name: 'a', kind: 'postgres', region: 'eu', url: 'postgres://u@eu/db' },
        { name: 'b', kind: 'postgres', region: 'us', url: 'postgres://u@us/db' },
      ],
      links: [{ from: 'a', to: 'b', apply: { via } }],
    },
  });
}

void describe('replicas[].via', () => {
  void test('a link reads the mirrored changelog and schemas under the given prefix, in the given cluster', () => {
    const parsed = parseConfig(config({ topicPrefix: 'eu.cdc' }), 'json', { env: {} });
    const link = parsed.replicas.find((replica) => replica.name === 'a-to-b');
    assert.ok(link);
    assert.deepEqual(changelogSource(link, parsed.kafka), {
      brokers: ['kafka-us:9092'],
      tls: undefined,
      sasl: undefined,
      schemaRegistry: undefined,
      prefix: 'eu.cdc',
      changelog: 'eu.cdc.a.changes',
    });
    const direct = parseConfig(config({ brokers: ['kafka-eu:9092'] }), 'json', { env: {} });
    const other = direct.replicas.find((replica) => replica.name === 'a-to-b');
    assert.ok(other);
    assert.deepEqual(changelogSource(other, direct.kafka), {
      brokers: ['kafka-eu:9092'],
      tls: undefined,
      sasl: undefined,
      schemaRegistry: undefined,
      prefix: 'cdc',
      changelog: 'cdc.a.changes',
    });
  });

  void test('is refused with the path of what is wrong', () => {
    assert.throws(
      () => parseConfig(config({ brokers: ['kafka-eu'], topicPrefix: 'eu/cdc' }), 'json', { env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof CdcError);
        assert.match(error.message, /topology\.links\[0\]\.apply\.via\.brokers\[0\]: must be "host:port"/);
        assert.match(error.message, /topology\.links\[0\]\.apply\.via\.topicPrefix: must use only letters/);
        return true;
      },
    );
  });
});

void describe('regionScope', () => {
  const parsed = parseConfig(config({ topicPrefix: 'eu.cdc' }), 'json', { env: {} });

  void test("runs the captures of the region's nodes and the links into them", () => {
    const us = regionScope(parsed, 'us');
    assert.deepEqual(
      us.sources.map((source) => source.name),
      ['b'],
    );
    assert.deepEqual(
      us.replicas.map((replica) => replica.name),
      ['a-to-b'],
    );
    const eu = regionScope(parsed, 'eu');
    assert.deepEqual(
      eu.replicas.map((replica) => replica.name),
      ['b-to-a'],
    );
  });

  void test('names the regions there are when asked for another', () => {
    assert.throws(
      () => regionScope(parsed, 'asia'),
      /region "asia" is not the region of any topology node \(regions: eu, us\)/,
    );
  });
});
