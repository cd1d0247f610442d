/**
 * Times a Debezium Server catch-up the way bench/measure.ts times ours: from its start until every row is on
 * the topic, with the time to the first one. Rows are counted from the topic's offsets every 20 ms (its Kafka
 * sink is not transactional, so each record takes exactly one offset); memory is the JVM's peak resident set.
 */
import type { Admin } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import type { StageResult } from '../measure.ts';
import { DebeziumServer } from './debezium-server.ts';
import { DEBEZIUM_HEAP, type Settings } from './debezium-settings.ts';

export interface PeerStageResult extends StageResult {
  /** Records on the topic when the last row arrived: more than the rows would be duplicates. */
  readonly records: number;
}

/** Records on a topic (all partitions). */
export async function topicRecords(admin: Admin, topic: string): Promise<number> {
  const partitions = await admin.fetchTopicOffsets(topic);
  return partitions.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
}

export async function measureDebezium(options: {
  readonly stage: string;
  readonly rows: number;
  readonly folder: string;
  readonly settings: Settings;
  readonly admin: Admin;
  /** The topic the rows go to; it must exist (the broker does not create topics). */
  readonly topic: string;
  readonly timeoutMs?: number;
}): Promise<PeerStageResult> {
  const { stage, rows, admin, topic } = options;
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const started = performance.now();
  const server = await DebeziumServer.start(options.folder, options.settings, DEBEZIUM_HEAP);
  try {
    let firstEvent: number | null = null;
    let records = await topicRecords(admin, topic);
    for (; records < rows; records = await topicRecords(admin, topic)) {
      if (firstEvent === null && records > 0) firstEvent = performance.now();
      if (!server.running) throw new Error(`${stage}: Debezium Server exited\n${await server.logTail()}`);
      if (performance.now() - started > timeoutMs)
        throw new Error(
          `${stage}: ${records} of ${rows} rows after ${timeoutMs} ms\n${await server.logTail()}`,
        );
      await delay(20);
    }
    const finished = performance.now();
    return {
      stage,
      rows,
      seconds: (finished - started) / 1000,
      firstEventSeconds: ((firstEvent ?? finished) - started) / 1000,
      peakRssMb: await server.peakRssMb(),
      records,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Runs Debezium Server until `ready` holds, then stops it cleanly so that it stores its offsets: a first run,
 * before the rows are written, for sources where it cannot be told where to start.
 */
export async function runUntilReady(
  folder: string,
  settings: Settings,
  what: string,
  ready: () => Promise<boolean>,
): Promise<void> {
  const server = await DebeziumServer.start(folder, settings, DEBEZIUM_HEAP);
  const deadline = performance.now() + 180_000;
  try {
    while (!(await ready())) {
      if (!server.running) throw new Error(`${what}: Debezium Server exited\n${await server.logTail()}`);
      if (performance.now() > deadline)
        throw new Error(`${what}: not after 180 s\n${await server.logTail()}`);
      await delay(500);
    }
  } finally {
    await server.stop();
  }
}
