/**
 * The Debezium Server runs of one source, one per configuration: each with its own folder (offsets, schema
 * history), topic prefix and topics, prepared before the rows are written, timed after ours, and removed once
 * measured (JSON with schemas takes ~3.5 KB a row on the shared broker).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger.ts';
import { createKafka } from '../../services/kafka/client.ts';
import { connectorTopics, ensureTopic } from '../../services/kafka/topics.ts';
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

/**
 * The Kafka side of one source's comparison: a client, Debezium Server's runs, and on close the removal of
 * every topic and folder they and our capture (`<prefix>.bench.*`) made.
 */
export class PeerKafka {
  readonly kafka: Kafka;
  readonly admin: Admin;
  private readonly runs: PeerRun[] = [];
  private readonly removed = new Set<PeerRun>();

  private readonly options: { brokers: readonly string[]; prefix: string; logger: Logger };

  private constructor(options: { brokers: readonly string[]; prefix: string; logger: Logger }) {
    this.options = options;
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'bench-peer', logger: options.logger });
    this.admin = this.kafka.admin();
  }

  static async open(brokers: readonly string[], prefix: string, logger: Logger): Promise<PeerKafka> {
    const peer = new PeerKafka({ brokers, prefix, logger });
    await peer.admin.connect();
    return peer;
  }

  /** One run a configuration: its folder, topic prefix and topics, made before the rows are written. */
  async prepareRuns(source: {
    /** The topic the rows go to under a topic prefix, and any other topic the source writes to. */
    readonly topics: (topicPrefix: string) => { readonly rows: string; readonly others: readonly string[] };
    /** The source's settings for the run of that index (each run has its own slot or server id). */
    readonly settings: (index: number) => Settings;
  }): Promise<readonly PeerRun[]> {
    const { brokers, prefix, logger } = this.options;
    for (const [index, configuration] of DEBEZIUM_CONFIGURATIONS.entries()) {
      const topicPrefix = `${prefix}-dbz${index}`;
      const { rows, others } = source.topics(topicPrefix);
      const topics = [rows, ...others];
      // Debezium's Kafka sink sends to `<topic prefix>.<schema>.<table>`; the broker does not create topics.
      for (const topic of topics) await ensureTopic(this.kafka, topic, { partitions: 1 }, logger);
      this.runs.push({
        configuration,
        topicPrefix,
        settings: {
          ...sharedSettings(brokers, topicPrefix),
          ...source.settings(index),
          ...configuration.settings,
        },
        folder: await serverFolder(),
        rowsTopic: rows,
        topics,
      });
    }
    return this.runs;
  }

  /** Times each run in turn on the rows already written, removing its topics and folder once measured. */
  async measureRuns(source: string, rows: number): Promise<PeerComparison['theirs']> {
    const measured = [];
    for (const run of this.runs) {
      const result = await measureDebezium({
        stage: `${source} → Kafka (Debezium Server, ${run.configuration.name})`,
        rows,
        folder: run.folder,
        settings: run.settings,
        admin: this.admin,
        topic: run.rowsTopic,
      });
      measured.push({ run, result });
      await this.removeRun(run);
    }
    return measured;
  }

  /** Removes what is left of the runs and our capture's topics, and disconnects. */
  async close(): Promise<void> {
    for (const run of this.runs) await this.removeRun(run);
    const { changelog, schemas } = connectorTopics(this.options.prefix, 'bench');
    await this.deleteTopics([changelog, schemas]);
    await this.admin.disconnect();
  }

  private async removeRun(run: PeerRun): Promise<void> {
    if (this.removed.has(run)) return;
    this.removed.add(run);
    await this.deleteTopics(run.topics);
    await removeFolder(run.folder);
  }

  /** Deletes those of `topics` that exist. */
  private async deleteTopics(topics: readonly string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await this.admin.deleteTopics({ topics: present });
  }
}
