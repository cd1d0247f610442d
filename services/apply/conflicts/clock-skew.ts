/**
 * Clock skew as the apply of a link sees it: how far ahead of the target's clock the commit times of the
 * changes it applies are. A change is committed before it can be captured, sent through Kafka and applied, so
 * with true clocks its commit time is behind the target's clock when it arrives. One ahead of it comes from a
 * node whose clock runs ahead, by at least that much (the time the change took to arrive hides the rest: this
 * is a lower bound, never a false alarm). Last-writer-wins compares these commit times, so that node's writes
 * win against changes made elsewhere up to that long after them (docs/conflicts.md, clock skew).
 *
 * Measured once per batch against the target's clock, read after the batch arrived; reported as the largest
 * value of the last minute or two (a gauge), and logged as a warning above `maxClockSkewMillis`, at most once a
 * minute per origin node.
 */
import type { Logger } from '../../../common/logger.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TargetConnection } from '../sql-dialect.ts';

/** Well above what NTP or chrony leave between synchronized servers (milliseconds at most). */
export const DEFAULT_MAX_CLOCK_SKEW_MILLIS = 100;

/** A value seen stays reported for one to two windows; warnings about one origin come once per window. */
const WINDOW_MILLIS = 60_000;

/** A change's origin node and original commit time (microseconds since the Unix epoch). */
export interface Stamped {
  readonly origin: string;
  readonly commitMicros: bigint;
}

export class ClockSkew {
  /** The target's query answering its clock (ConflictDialect.clock). */
  private readonly clock: string;
  private readonly thresholdMillis: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private windowStart: number;
  /** The largest skew of the current window and of the one before, in ms. */
  private current = 0;
  private previous = 0;
  /** When each origin was last warned about. */
  private readonly warned = new Map<string, number>();

  constructor(clock: string, thresholdMillis: number, logger: Logger, now: () => number = Date.now) {
    this.clock = clock;
    this.thresholdMillis = thresholdMillis;
    this.logger = logger;
    this.now = now;
    this.windowStart = now();
  }

  /** Reads the target's clock once for a batch of changes that have arrived, and notes theirs against it. */
  async measure(connection: TargetConnection, events: readonly ChangeEvent[]): Promise<void> {
    const micros = (await connection.run({ text: this.clock, values: [] })).rows[0]?.micros;
    if (typeof micros !== 'string' && typeof micros !== 'bigint') return;
    this.observe(
      BigInt(micros),
      events.map((event) => ({
        origin: event.source.origin ?? event.source.connector,
        commitMicros: event.source.commitTimeMicros,
      })),
    );
  }

  /** Notes a batch's changes against the target's clock (`targetMicros`), read after they arrived. */
  observe(targetMicros: bigint, changes: Iterable<Stamped>): void {
    this.roll();
    let ahead = 0n;
    let origin: string | null = null;
    for (const change of changes) {
      const by = change.commitMicros - targetMicros;
      if (by > ahead) [ahead, origin] = [by, change.origin];
    }
    if (origin === null) return;
    const millis = Number(ahead / 1000n);
    this.current = Math.max(this.current, millis);
    if (millis <= this.thresholdMillis) return;
    const now = this.now();
    const last = this.warned.get(origin);
    if (last !== undefined && now - last < WINDOW_MILLIS) return;
    this.warned.set(origin, now);
    this.logger.warn(
      { origin, aheadMillis: millis, maxClockSkewMillis: this.thresholdMillis },
      `changes from node ${origin} carry commit times ${millis} ms ahead of this node's clock: its clock runs ahead by at least that much, and under last-writer-wins its writes win against changes made here up to that long after them; synchronize the clocks (docs/conflicts.md, clock skew)`,
    );
  }

  /** The most a change's commit time was ahead of the target's clock in the last one to two minutes, in ms (0: none). */
  aheadMillis(): number {
    this.roll();
    return Math.max(this.current, this.previous);
  }

  private roll(): void {
    const now = this.now();
    const elapsed = now - this.windowStart;
    if (elapsed < WINDOW_MILLIS) return;
    this.previous = elapsed < 2 * WINDOW_MILLIS ? this.current : 0;
    this.current = 0;
    this.windowStart = now;
  }
}
