/**
 * An apply worker's lag, from what its feed saw and what the changelog holds beyond it. Two ages of one change,
 * the oldest one the worker has not applied:
 *
 * - end to end: since its original commit (`source.commitTimeMicros`; through PostgreSQL tiers that is the
 *   first node's commit, since a re-published transaction keeps its origin's commit time);
 * - hop: since it was published into the changelog this worker reads (the Kafka record's CreateTime), so how
 *   long this link has taken to get to it.
 *
 * Inside a batch that change is the batch's first. Between batches it is the next record in Kafka, which the
 * worker has not read yet: it was published after the last change the worker applied and after the last moment
 * the worker was seen with nothing left to consume, so its hop age is at most the time since the later of the
 * two. That bound is what is reported: close when the worker reads continuously (the next record follows the
 * last one), and at most one backlog sampling interval too old after the worker was idle. Its end-to-end age
 * adds the time the last applied change took to reach this changelog (the hops before this one), taken to be
 * the same for the next change.
 */

/** When one change was committed at its origin and published into this worker's changelog (epoch ms). */
export interface ChangeTimes {
  readonly commitMillis: number;
  /** The Kafka record's timestamp; null where the feed does not know it (an in-memory feed). */
  readonly publishedMillis: number | null;
}

export interface LagInputs {
  readonly now: number;
  /** Whether the worker's feed runs (false while paused, stopped or restarting). */
  readonly consuming: boolean;
  /** The first change of the batch being applied, null between batches. */
  readonly pending: ChangeTimes | null;
  /** The last change the worker applied (in this process), null before its first. */
  readonly lastApplied: ChangeTimes | null;
  /** Records in the changelog the worker has not consumed; null when not known (no recent sample). */
  readonly backlog: number | null;
  /** The last moment the worker was seen with nothing left to consume, null if never. */
  readonly caughtUpAt: number | null;
}

export interface ApplyLag {
  /** Age since the original commit, ms; null when unknown. */
  readonly endToEndMillis: number | null;
  /** Age since publication into this worker's changelog, ms; null when unknown. */
  readonly hopMillis: number | null;
}

const UNKNOWN: ApplyLag = { endToEndMillis: null, hopMillis: null };
const CAUGHT_UP: ApplyLag = { endToEndMillis: 0, hopMillis: 0 };

export function applyLag(inputs: LagInputs): ApplyLag {
  const { now, pending, lastApplied, backlog } = inputs;
  const age = (since: number): number => Math.max(0, now - since);
  if (pending !== null) {
    return {
      endToEndMillis: age(pending.commitMillis),
      hopMillis: pending.publishedMillis === null ? null : age(pending.publishedMillis),
    };
  }
  if (backlog === 0) return CAUGHT_UP;
  // Without a backlog sample (none yet, or Kafka did not answer), a consuming worker between batches is taken
  // as caught up, as before the backlog was sampled: Kafka hands it the next batch as soon as it asks.
  if (backlog === null) return inputs.consuming ? CAUGHT_UP : UNKNOWN;
  const publishedAfter = Math.max(
    lastApplied?.publishedMillis ?? Number.NEGATIVE_INFINITY,
    inputs.caughtUpAt ?? Number.NEGATIVE_INFINITY,
  );
  if (publishedAfter === Number.NEGATIVE_INFINITY) {
    // Nothing known of when the next change was published; the last applied change's age bounds it.
    return lastApplied === null
      ? UNKNOWN
      : { endToEndMillis: age(lastApplied.commitMillis), hopMillis: null };
  }
  const hopMillis = age(publishedAfter);
  const upstream =
    lastApplied?.publishedMillis == null
      ? 0
      : Math.max(0, lastApplied.publishedMillis - lastApplied.commitMillis);
  return { endToEndMillis: hopMillis + upstream, hopMillis };
}
