/**
 * Lag-aware routing: which replicas an application may read from, given the most lag it accepts, and for the
 * others why not. A pure function of the workers' status, shared by `GET /replicas` and `/ready`.
 */
import type { ApplyWorkerStatus } from './status-types.ts';

export interface ReplicaRoute {
  readonly name: string;
  readonly source: string;
  readonly state: ApplyWorkerStatus['state'];
  /** End-to-end lag in ms (since the original commit); null when unknown. */
  readonly lagMillis: number | null;
  readonly appliedPosition: string | null;
  /** Whether the replica may be read from under the bound (running, lag known and at most the bound). */
  readonly withinBound: boolean;
  /** Why not, when `withinBound` is false; null otherwise. */
  readonly reason: string | null;
}

/** `maxLagMs` null: no bound on the lag, only the state counts. */
export function routeReplica(worker: ApplyWorkerStatus, maxLagMs: number | null): ReplicaRoute {
  const reason = notWithin(worker, maxLagMs);
  return {
    name: worker.name,
    source: worker.source,
    state: worker.state,
    lagMillis: worker.endToEndLagMillis,
    appliedPosition: worker.appliedPosition,
    withinBound: reason === null,
    reason,
  };
}

function notWithin(worker: ApplyWorkerStatus, maxLagMs: number | null): string | null {
  const error = worker.lastError === null ? '' : `: ${worker.lastError}`;
  switch (worker.state) {
    case 'paused':
      return `paused, lag ${lagText(worker.endToEndLagMillis)}`;
    case 'failed':
      return `failed${error}`;
    case 'stopped':
      return 'stopped';
    case 'starting':
      return worker.appliedPosition === null && worker.lastError === null
        ? 'not started: not applying yet'
        : `starting again${error}`;
    case 'running':
      break;
  }
  if (maxLagMs === null) return null;
  if (worker.endToEndLagMillis === null) return 'lag unknown (no recent backlog sample)';
  if (worker.endToEndLagMillis > maxLagMs)
    return `lag ${worker.endToEndLagMillis} ms is above the bound of ${maxLagMs} ms`;
  return null;
}

function lagText(lag: number | null): string {
  return lag === null ? 'unknown' : `${lag} ms`;
}

/**
 * `/ready` reasons from lag: a replica with `readyMaxLagMs` set whose lag is above it, or unknown while it
 * runs, makes the process unready (a paused one too: its lag still counts).
 */
export function lagNotReadyReasons(
  workers: readonly ApplyWorkerStatus[],
  bounds: ReadonlyMap<string, number>,
): string[] {
  const reasons: string[] = [];
  for (const worker of workers) {
    const bound = bounds.get(worker.name);
    if (bound === undefined) continue;
    const lag = worker.endToEndLagMillis;
    if (lag !== null && lag > bound)
      reasons.push(`replica ${worker.name} lags ${lag} ms, above its readyMaxLagMs of ${bound} ms`);
    // Just resumed or started, before a backlog sample: it may still be far behind.
    else if (lag === null && worker.state === 'running')
      reasons.push(
        `replica ${worker.name}'s lag is unknown yet (no recent backlog sample), so readyMaxLagMs cannot be checked`,
      );
  }
  return reasons;
}
