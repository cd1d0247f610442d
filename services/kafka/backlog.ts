/**
 * How many records of a changelog an apply worker's consumer group has not consumed yet, sampled in the
 * background every few seconds (one ListOffsets and one OffsetFetch on a long-lived admin connection) and read
 * from the cache, so the apply path never waits on it. It runs while the worker is paused too: a paused link's
 * backlog is what an operator wants to see grow.
 *
 * The end of a partition is its last stable offset (kafkajs lists offsets read_committed): records of a capture
 * transaction still open are not pending yet. The group's position is the later of its committed offset and
 * what the worker's own consumer reached since (`consumed`): the consumer's progress counts at once rather than
 * at the next sample, and batches of only transaction markers or aborted records, which the consumer passes
 * over without committing, count as consumed.
 */
import type { Admin } from 'kafkajs';
import { createKafka, kafkaError } from './client.ts';
import { clusterOf, type KafkaCluster } from './security.ts';
import { closeWithin } from './closing.ts';
import { errorMessage } from '../../common/errors.ts';
import { Backoff } from '../../common/retry.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';

export interface BacklogOptions extends KafkaCluster {
  readonly groupId: string;
  readonly topic: string;
  readonly clientId: string;
  readonly logger?: Logger;
  /** Time between two samples (default 2 s). */
  readonly intervalMs?: number;
  /** Where the worker's consumer got to in a partition (the next offset it will read), if it knows. */
  readonly consumed?: (partition: number) => bigint | undefined;
}

export interface Backlog {
  /** Records not consumed yet; null when no sample is recent enough to tell. */
  readonly events: number | null;
  /** The last moment (epoch ms) the group was seen with nothing left to consume; null if never. */
  readonly caughtUpAt: number | null;
}

interface PartitionOffsets {
  readonly partition: number;
  /** Last stable offset: the offset the next committed record will get. */
  readonly end: bigint;
  /** The group's committed offset (the partition's first offset when the group committed none). */
  readonly committed: bigint;
}

interface Sample {
  /** When the sample was requested: every record published before it is counted in it. */
  readonly atMillis: number;
  readonly partitions: readonly PartitionOffsets[];
}

const DEFAULT_INTERVAL_MS = 2_000;

export class BacklogSampler {
  readonly #options: BacklogOptions;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #latest: Sample | null = null;
  #caughtUpAt: number | null = null;

  constructor(options: BacklogOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'backlog', group: options.groupId });
  }

  /** Samples until `signal` aborts. A failed sample is logged and tried again at the next interval. */
  async run(signal: AbortSignal): Promise<void> {
    const kafka = createKafka({
      ...clusterOf(this.#options),
      clientId: this.#options.clientId,
      logger: this.#logger,
    });
    // No retries inside a sample: the next interval is the retry, and a sample must not outlive it by much.
    const admin = kafka.admin({ retry: { retries: 0 } });
    let connected = false;
    let sampling: Promise<void> = Promise.resolve();
    const stopped = new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    try {
      while (!signal.aborted) {
        sampling = this.#sampleOnce(admin, connected).then((ok) => {
          connected ||= ok;
        });
        // A stop does not wait for the sample in flight here (a request can take up to kafkajs's request timeout).
        await Promise.race([sampling, stopped]);
        if (!(await Backoff.sleep(this.#intervalMs, signal))) break;
      }
    } finally {
      // A connect in flight would open its connections after a disconnect: the disconnect follows it. Past the
      // grace the connections are closed under it; its requests are only reads, nothing is lost by that.
      await closeWithin(
        kafka,
        'backlog admin client',
        async () => {
          await sampling;
          await admin.disconnect();
        },
        { logger: this.#logger, graceMs: 1_000 },
      );
    }
  }

  /** Connects if needed and takes one sample; answers whether the admin client is connected. */
  async #sampleOnce(admin: Admin, connected: boolean): Promise<boolean> {
    try {
      if (!connected) await admin.connect();
    } catch (error) {
      this.#logger.debug({ error: errorMessage(error) }, 'backlog sample failed');
      return false;
    }
    try {
      this.#record(await this.#sample(admin));
    } catch (error) {
      this.#logger.debug({ error: errorMessage(error) }, 'backlog sample failed');
    }
    return true;
  }

  /** The backlog as of the latest sample, with the worker's own progress since then taken into account. */
  backlog(now: number = Date.now()): Backlog {
    const sample = this.#latest;
    // Three intervals without an answer: the broker is unreachable or slow, and an old count says nothing.
    if (sample === null || now - sample.atMillis > 3 * this.#intervalMs + 1_000)
      return { events: null, caughtUpAt: this.#caughtUpAt };
    const events = this.#pending(sample);
    if (events === 0) this.#caughtUpAt = Math.max(this.#caughtUpAt ?? 0, sample.atMillis);
    return { events, caughtUpAt: this.#caughtUpAt };
  }

  async #sample(admin: Admin): Promise<Sample> {
    const { topic, groupId } = this.#options;
    const atMillis = Date.now();
    try {
      // Both requests end before the sample does. With Promise.all, the one still running after the other failed
      // (its socket closed by a stop) went on after the client was closed, opened a new broker connection, and
      // that socket kept the stopped process alive.
      const [ends, groups] = await bothSettled(
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      );
      const committed = groups.find((entry) => entry.topic === topic)?.partitions ?? [];
      const partitions = ends.map((end) => {
        const offset = committed.find((entry) => entry.partition === end.partition)?.offset ?? '-1';
        // -1: the group has committed nothing; it starts from the partition's beginning.
        const position = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
        return { partition: end.partition, end: BigInt(end.high), committed: position };
      });
      return { atMillis, partitions };
    } catch (error) {
      throw kafkaError(error, `cannot read the backlog of ${groupId} on ${topic}`, { topic, group: groupId });
    }
  }

  #record(sample: Sample): void {
    this.#latest = sample;
    if (this.#pending(sample) === 0) this.#caughtUpAt = sample.atMillis;
  }

  #pending(sample: Sample): number {
    let total = 0n;
    for (const { partition, end, committed } of sample.partitions) {
      const consumed = this.#options.consumed?.(partition);
      const position = consumed !== undefined && consumed > committed ? consumed : committed;
      if (end > position) total += end - position;
    }
    return Number(total);
  }
}

/** Both values once both promises settled; the first rejection otherwise, also once both settled. */
async function bothSettled<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
