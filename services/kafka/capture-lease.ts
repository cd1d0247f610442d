/**
 * Which of several processes captures a source (`sources[].ha`): Kafka's group membership decides, not a
 * consensus of ours. Every process running the source's capture joins one consumer group on a one-partition
 * lease topic that nothing is ever written to; the member assigned its partition captures, the others stand
 * by. When the capturing process dies, the coordinator drops it after `kafka.sessionTimeoutMs` and assigns the
 * partition to a standby, which starts capturing.
 *
 * The lease decides who should capture; the transactional id keeps it exactly once. The new holder's producer
 * fences the old one before it reads the resume point (publisher.ts), so a process that still captures after
 * losing the lease (paused, cut off) can commit nothing more, and gets KAFKA_FENCED: it then leaves the group
 * and joins again as a standby instead of staying failed. The slot or binlog connection follows: the new
 * holder's connector retries until the old one has let go of it.
 *
 * The assignor is sticky: each member says in its subscription whether it holds the lease, and since when, and
 * the group leader keeps the partition with that member when a standby joins or rejoins, so adding a standby
 * never moves the capture. Two members can both claim it: a holder frozen past its session rejoins before it
 * learns it lost the lease. The later holding wins, so the frozen one does not take the lease back from the
 * process that replaced it (and whose producer fenced its own).
 */
import type { Assigner, Consumer, Kafka, PartitionAssigner } from 'kafkajs';
import kafkajs from './kafkajs.ts';
import { createConsumer, type ClosableConsumer } from './closable-consumer.ts';
import { ensureTopic, type TopicSettings } from './topics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { Backoff } from '../../common/retry.ts';

export type LeaseState = 'joining' | 'standby' | 'active';

/** The lease group as last described (after each rebalance): who holds the lease, and how many processes take part. */
export interface LeaseGroup {
  /** The holder's member id (its client id and a suffix), and the address Kafka sees it connect from. */
  readonly holder: { readonly member: string; readonly host: string } | null;
  /** Members of the group: the holder and the standbys. */
  readonly members: number;
}

export interface CaptureLeaseOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly topicSettings?: TopicSettings | undefined;
  readonly logger: Logger;
}

/** What the work (the capture) ended with while this process held the lease. */
export type WorkEnd = { readonly fenced: boolean; readonly failed: boolean };

const STANDING_BY = Buffer.alloc(0);

/** A member's claim in its subscription: since when (ms since epoch) it holds the lease, or nothing. */
function claim(heldSince: number | null): Buffer {
  return heldSince === null ? STANDING_BY : Buffer.from(String(heldSince));
}

function heldSince(userData: Buffer | undefined): number | null {
  if (userData === undefined || userData.length === 0) return null;
  const since = Number(userData.toString('utf8'));
  return Number.isFinite(since) ? since : null;
}

/**
 * The assignor: partition 0 to the member holding the lease (the latest holding when several claim it), else to
 * the first member by id. `heldSince`: when this process took the lease, null while it does not hold it.
 */
export function leaseAssigner(topic: string, holding: () => number | null): PartitionAssigner {
  const { AssignerProtocol } = kafkajs;
  return (): Assigner => ({
    name: 'CdcCaptureLease',
    version: 1,
    assign({ members }) {
      const decoded = members
        .map((member) => ({
          memberId: member.memberId,
          since: heldSince(AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData),
        }))
        .sort((a, b) => a.memberId.localeCompare(b.memberId));
      const claims = decoded.filter((member) => member.since !== null);
      const holder =
        claims.reduce<(typeof decoded)[number] | undefined>(
          (latest, member) => (latest === undefined || member.since! > latest.since! ? member : latest),
          undefined,
        ) ?? decoded[0];
      return Promise.resolve(
        decoded.map((member) => ({
          memberId: member.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: member === holder ? { [topic]: [0] } : {},
            userData: STANDING_BY,
          }),
        })),
      );
    },
    protocol({ topics }) {
      return {
        name: 'CdcCaptureLease',
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: claim(holding()),
        }),
      };
    },
  });
}

/** Describes the lease group: the member assigned the lease's partition, and the member count. */
export async function describeLeaseGroup(kafka: Kafka, groupId: string, topic: string): Promise<LeaseGroup> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members ?? [];
    const holder = members.find(
      (member) =>
        kafkajs.AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[
          topic
        ]?.includes(0) === true,
    );
    return {
      holder:
        holder === undefined ? null : { member: holder.memberId, host: holder.clientHost.replace(/^\//, '') },
      members: members.length,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export class CaptureLease {
  state: LeaseState = 'joining';
  /** The group as described after the last rebalance this process saw; null before the first. */
  group: LeaseGroup | null = null;
  readonly #options: CaptureLeaseOptions;
  /** When this process took the lease; null while it does not hold it. What its subscription claims. */
  #heldSince: number | null = null;

  constructor(options: CaptureLeaseOptions) {
    this.#options = options;
  }

  /** When this process took the lease (ms since epoch); null while it does not hold it. */
  get heldSince(): number | null {
    return this.#heldSince;
  }

  /**
   * Runs `work` while this process holds the lease, until `signal` aborts. `work` gets a signal that aborts when
   * the lease moves away; when it ends by itself (failed for good, or fenced by another holder), the lease is
   * given up and the process stands by again, after a wait that grows while the work keeps failing.
   */
  async run(work: (signal: AbortSignal) => Promise<WorkEnd>, signal: AbortSignal): Promise<void> {
    const { kafka, topic, topicSettings, logger } = this.#options;
    await ensureTopic(kafka, topic, { partitions: 1, settings: topicSettings }, logger);
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
    while (!signal.aborted) {
      const end = await this.#member(work, signal);
      this.state = 'joining';
      if (end === null || signal.aborted) continue;
      if (end.fenced) backoff.reset();
      const waitMs = backoff.next();
      logger.warn(
        { lease: topic, waitMs },
        end.fenced
          ? 'another process took over this capture; standing by'
          : 'capture failed while holding the lease; gave the lease up, joining again as a standby',
      );
      await Backoff.sleep(waitMs, signal);
    }
  }

  /**
   * One membership of the group: resolves with how the work ended when it ended by itself (the membership is
   * then closed, which gives the lease up), or null when `signal` aborted or the member could not stay.
   */
  async #member(
    work: (signal: AbortSignal) => Promise<WorkEnd>,
    signal: AbortSignal,
  ): Promise<WorkEnd | null> {
    const { kafka, groupId, topic, sessionTimeoutMs, logger } = this.#options;
    const member: ClosableConsumer = createConsumer(
      kafka,
      {
        groupId,
        sessionTimeout: sessionTimeoutMs,
        rebalanceTimeout: sessionTimeoutMs,
        heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 6)),
        maxWaitTimeInMs: 500,
        partitionAssigners: [leaseAssigner(topic, () => this.#heldSince)],
      },
      { what: `capture lease member of ${groupId}`, logger },
    );
    const consumer: Consumer = member.consumer;
    let running: { controller: AbortController; done: Promise<WorkEnd> } | null = null;
    let ended: (end: WorkEnd | null) => void = () => undefined;
    const outcome = new Promise<WorkEnd | null>((resolve) => (ended = resolve));
    // Promotions and demotions one after the other, in the order the group decided them.
    let transitions = Promise.resolve();
    // Once the membership ends, its late events (a rejoin under way as it closes) must not start a capture.
    let closing = false;
    let rebalances = 0;
    const promote = (): void => {
      if (running !== null || closing) return;
      const controller = new AbortController();
      this.#heldSince = Date.now();
      this.state = 'active';
      logger.info({ lease: topic }, 'this process holds the capture lease: capturing');
      const done = work(controller.signal);
      running = { controller, done };
      void done.then((end) => {
        if (controller.signal.aborted) return;
        // Ended by itself (fenced, or failed for good): claim the lease no more, even in a rejoin under way.
        this.#heldSince = null;
        ended(end);
      });
    };
    const demote = async (why: string): Promise<void> => {
      const current = running;
      this.#heldSince = null;
      this.state = 'standby';
      if (current === null) return;
      logger.warn({ lease: topic, reason: why }, 'the capture lease moved: stopping capture, standing by');
      current.controller.abort();
      await current.done;
      running = null;
    };
    const transition = (step: () => Promise<void> | void): void => {
      transitions = transitions.then(step).catch((error: unknown) => {
        logger.warn({ err: error }, 'capture lease transition failed');
      });
    };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (closing) return;
      const mine = payload.memberAssignment[topic]?.includes(0) === true;
      transition(() => (mine ? promote() : demote('the group gave the lease to another process')));
      // For /status and the dashboard: who holds the lease when it is not this process. Off the transition path;
      // only the description after the latest rebalance is kept, whichever answer comes last.
      const described = ++rebalances;
      describeLeaseGroup(kafka, groupId, topic).then(
        (group) => {
          if (!closing && described === rebalances) this.group = group;
        },
        (error: unknown) =>
          logger.debug({ err: error, lease: topic }, 'describing the capture lease group failed'),
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (closing) return;
      transition(() => demote(`the group membership failed: ${errorMessage(payload.error)}`));
      if (!payload.restart) ended(null);
    });
    const onAbort = (): void => ended(null);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({ eachBatch: () => Promise.resolve() });
      return await outcome;
    } catch (error) {
      if (signal.aborted) return null;
      logger.warn({ err: error, lease: topic }, 'cannot join the capture lease group; trying again');
      await Backoff.sleep(1_000, signal);
      return null;
    } finally {
      closing = true;
      signal.removeEventListener('abort', onAbort);
      transition(() => demote('this membership ends'));
      await transitions;
      this.#heldSince = null;
      this.group = null;
      await member.close();
    }
  }
}
