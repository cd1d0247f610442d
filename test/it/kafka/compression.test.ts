/**
 * Producer compression against the real broker: with kafka.compression gzip or zstd the changelog reads back
 * exactly, and the broker stores a fraction of the bytes it stores uncompressed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { createKafka } from '../../../services/kafka/client.ts';
import type { Compression } from '../../../services/kafka/compression.ts';
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { createLogger } from '../../../common/logger.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { GeneratedSource } from './generator.ts';
import { readBack } from './read-back.ts';

/** Rows with about 4 KB of repetitive text each, as JSON documents or log lines are. */
class TextSource extends GeneratedSource {
  override event(n: number): ChangeEvent {
    const event = super.event(n);
    const line = `{"order": ${n}, "status": "shipped", "note": "left at the door"}\n`;
    return { ...event, after: { id: BigInt(n), payload: line.repeat(60) } } as ChangeEvent;
  }
}

/** Bytes the broker keeps in the log segments of partition 0 of `topic` (the broker's own log.dirs). */
async function storedBytes(topic: string): Promise<number> {
  const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: 'test-compression' }).admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    const described = await admin.describeConfigs({
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.BROKER,
          name: String(brokers[0]!.nodeId),
          configNames: ['log.dirs'],
        },
      ],
      includeSynonyms: false,
    });
    let total = 0;
    for (const dir of described.resources[0]!.configEntries[0]!.configValue.split(',')) {
      const folder = join(dir, `${topic}-0`);
      for (const file of await readdir(folder).catch(() => [])) {
        if (file.endsWith('.log')) total += (await stat(join(folder, file))).size;
      }
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

const logger = createLogger({ level: 'info', name: 'compression' });
const publishers: ChangePublisher[] = [];
after(async () => {
  await Promise.all(publishers.map((publisher) => publisher.close()));
});

describe('producer compression', () => {
  test('gzip and zstd changelogs read back exactly and take a fraction of the uncompressed bytes on the broker', async () => {
    const total = 2_000;
    const stored = new Map<Compression, number>();
    for (const compression of ['none', 'gzip', 'zstd'] as const) {
      const prefix = uniqueName(`zip${compression}`);
      const source = new TextSource(uniqueName('gen'), total, 5);
      const publisher = new ChangePublisher({
        brokers: stack.kafkaBrokers,
        prefix,
        connector: source.name,
        compression,
      });
      publishers.push(publisher);
      const started = performance.now();
      await publisher.run(source, new AbortController().signal);
      const publishMs = performance.now() - started;

      const events = await readBack(prefix, publisher.topics.changelog);
      assert.equal(events.length, total, compression);
      assert.deepStrictEqual(events[1_234]!.event, source.event(1_234), compression);
      stored.set(compression, await storedBytes(publisher.topics.changelog));
      logger.info({
        compression,
        events: total,
        publishMs: Math.round(publishMs),
        stored: stored.get(compression),
      });
    }
    const none = stored.get('none')!;
    assert.ok(none > total * 4_000, `uncompressed: ${none} bytes`);
    for (const compression of ['gzip', 'zstd'] as const) {
      const bytes = stored.get(compression)!;
      assert.ok(bytes < none / 5, `${compression}: ${bytes} bytes stored, uncompressed ${none}`);
    }
  });
});
