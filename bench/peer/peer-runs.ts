/**
 * The Debezium Server runs of one source, one per configuration: each with its own folder (offsets, schema
 * history), topic prefix and topics, prepared before the rows are written, timed after ours, and removed once
 * measured (JSON with schemas takes ~4 KB a row on the shared broker).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger.ts';
import { ensureTopic } from '../../services/kafka/topics.ts';
import type { CaptureOutcome } from '../measure.ts';
import { removeFolder, serverFolder } from './debezium-server.ts';
import {
  DEBEZIUM_CONFIGURATIONS,
  sharedSettings,
  type DebeziumConfiguration,
  type Settings,
} from './debezium-settings.ts';
import { measureDebezium, type PeerStageResult } from './debezium-stage.ts';

export interface PeerRun {
  readonly configuration: DebeziumConfiguration;
  readonly topicPrefix: string;
  /** Every setting the run used. */
  readonly settings: Settings;
  readonly folder: string;
  /** The topic the rows go to. */
  readonly rowsTopic: string;
  readonly topics: readonly string[];
}

/** One source's results: ours and Debezium Server's in each configuration, on the same rows. */
export interface PeerComparison {
  readonly source: string;
  readonly ours: CaptureOutcome;
  readonly theirs: readonly { readonly run: PeerRun; readonly result: PeerStageResult }[];
}

export async function prepareRuns(options: {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly prefix: string;
  readonly logger: Logger;
  /** The topic the rows go to under a topic prefix, and any other topic the source writes to. */
  readonly topics: (topicPrefix: string) => { readonly rows: string; readonly others: readonly string[] };
  /** The source's settings for the run of that index (each run has its own slot or server id). */
  readonly sourceSettings: (index: number) => Settings;
}): Promise<PeerRun[]> {
  const runs: PeerRun[] = [];
  for (const [index, configuration] of DEBEZIUM_CONFIGURATIONS.entries()) {
    const topicPrefix = `${options.prefix}-dbz${index}`;
    const { rows, others } = options.topics(topicPrefix);
    const topics = [rows, ...others];
    // Debezium's Kafka sink sends to `<topic prefix>.<schema>.<table>`; the broker does not create topics.
    for (const topic of topics) await ensureTopic(options.kafka, topic, { partitions: 1 }, options.logger);
    runs.push({
      configuration,
      topicPrefix,
      settings: {
        ...sharedSettings(options.brokers, topicPrefix),
        ...options.sourceSettings(index),
        ...configuration.settings,
      },
      folder: await serverFolder(),
      rowsTopic: rows,
      topics,
    });
  }
  return runs;
}

/** Times each run in turn on the rows already written, removing its topics and folder once measured. */
export async function measureRuns(
  runs: readonly PeerRun[],
  admin: Admin,
  source: string,
  rows: number,
): Promise<PeerComparison['theirs']> {
  const measured = [];
  for (const run of runs) {
    const result = await measureDebezium({
      stage: `${source} → Kafka (Debezium Server, ${run.configuration.name})`,
      rows,
      folder: run.folder,
      settings: run.settings,
      admin,
      topic: run.rowsTopic,
    });
    measured.push({ run, result });
    await removeRun(run, admin);
  }
  return measured;
}

const removed = new WeakSet<PeerRun>();

/** Deletes a run's topics and folder, unless done already (runs are removed once measured, or on a failure). */
export async function removeRun(run: PeerRun, admin: Admin): Promise<void> {
  if (removed.has(run)) return;
  removed.add(run);
  await deleteTopics(admin, run.topics);
  await removeFolder(run.folder);
}

/** Deletes those of `topics` that exist. */
export async function deleteTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((topic) => existing.has(topic));
  if (present.length > 0) await admin.deleteTopics({ topics: present });
}
