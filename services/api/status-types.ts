/**
 * What the API reads from a running pipeline. The pipeline implements StatusProvider over its connectors
 * (ConnectorStatus, defined with the connector contract) and apply workers (ApplyWorkerStatus, here).
 */
import type {
  ConnectorStatus as SourceConnectorStatus,
  SnapshotProgress,
} from '../../connectors/connector.ts';
import type { ReplicaWaitResult } from '../pipeline/replica-wait.ts';
import type { SynchronousState } from '../pipeline/synchronous-capture.ts';
import type { VerifyReport, VerifyRequest, VerifyRunOptions } from '../verify/verify-replica.ts';

export type { SnapshotProgress, VerifyReport, VerifyRequest };

/** A connector's status as the API shows it: the connector's own, or `paused` while an operator paused it. */
export type ConnectorStatus = Omit<SourceConnectorStatus, 'state'> & {
  /** `standby`: another process holds this source's capture lease (`sources[].ha`); `joining` counts as one. */
  readonly state: SourceConnectorStatus['state'] | 'paused' | 'standby';
  /**
   * Events larger than kafka.maxEventBytes that the publisher sent to the side topic instead of the changelog
   * (kafka.oversizedEvents: sideTopic); absent where this process does not publish the source.
   */
  readonly eventsOversized?: number;
  /**
   * PostgreSQL sources with `synchronous: true`: whether source commits wait for the capture, sampled every
   * 2 s (services/pipeline/synchronous-capture.ts); absent otherwise, and until the first sample.
   */
  readonly synchronous?: SynchronousState;
  /**
   * `sources[].ha`: the capture lease as this process sees it. `state`: `active` (this process holds it and
   * captures), `standby` or `joining`; `heldSince`: when this process took it (ISO time), else null; `holder`:
   * the group member holding it and the address Kafka sees it from, and `members` the processes in the group,
   * as described after the last rebalance (null until then). Absent without `ha`.
   */
  readonly lease?: {
    readonly state: 'active' | 'standby' | 'joining';
    readonly heldSince: string | null;
    readonly holder: { readonly member: string; readonly host: string } | null;
    readonly members: number | null;
  };
};

export type ApplyWorkerState = 'starting' | 'running' | 'paused' | 'stopped' | 'failed';

export interface ApplyWorkerStatus {
  readonly name: string;
  /** Name of the source whose changes the worker applies. */
  readonly source: string;
  readonly state: ApplyWorkerState;
  /** Last source position committed at the replica, formatted (formatPosition). */
  readonly appliedPosition: string | null;
  /** The same as endToEndLagMillis (the name kept for existing readers). */
  readonly lagMillis: number | null;
  /**
   * Age in ms of the oldest change not applied yet since its original commit (through PostgreSQL tiers, the
   * first node's commit): the change being applied, or between batches, while the changelog holds more, an
   * estimate of the next one's age (services/pipeline/apply-lag.ts). 0 when caught up (nothing left in the
   * changelog, paused or not); null when unknown (no backlog sample, and the worker not consuming).
   */
  readonly endToEndLagMillis: number | null;
  /**
   * Age in ms of the same change since it was published into the changelog this worker reads (the Kafka
   * record's timestamp): how far behind this link alone is. 0 when caught up; null when unknown.
   */
  readonly hopLagMillis: number | null;
  /**
   * Records of the changelog the worker's consumer group has not consumed yet (last stable offset minus the
   * group's position), sampled every 2 s; null when no recent sample could be taken.
   */
  readonly backlogEvents: number | null;
  readonly eventsApplied: number;
  readonly transactionsApplied: number;
  readonly errors: number;
  readonly deadLetters: number;
  readonly lastError: string | null;
}

export interface StatusProvider {
  connectors(): readonly ConnectorStatus[];
  workers(): readonly ApplyWorkerStatus[];
  /**
   * Asks the named source's connector for a snapshot of `tables` (every captured table when empty). Resolves
   * once the request is accepted, not when the snapshot is done; rejects with NOT_FOUND for an unknown source.
   */
  requestSnapshot(source: string, tables: readonly string[]): Promise<void>;
  /**
   * Compares a replica with its source (services/verify) and resolves with the report; absent in processes
   * that cannot reach the databases (the API then answers 501). Rejects with NOT_FOUND for an unknown replica.
   */
  verify?(request: VerifyRequest, options?: Pick<VerifyRunOptions, 'onProgress'>): Promise<VerifyReport>;
  /**
   * Pauses or resumes the named connector (`kind: 'connector'`, a source name) or apply worker (`'worker'`, a
   * replica name) in this process. Pausing resolves once it stopped reading or applying; both are idempotent.
   * Rejects with NOT_FOUND for a name this process does not run.
   */
  /**
   * Read-your-writes: resolves once the replica holds everything its source had committed up to the token
   * `position` (services/pipeline/replica-wait.ts); rejects with WAIT_TIMED_OUT after `timeoutMs`. Absent in
   * processes without a pipeline (the API then answers 501).
   */
  waitForReplica?(
    replica: string,
    position: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ReplicaWaitResult>;
  /** `replicas[].readyMaxLagMs` by replica: /ready fails while such a replica lags more. */
  readyLagBounds?(): ReadonlyMap<string, number>;
  setPaused?(kind: 'connector' | 'worker', name: string, paused: boolean): Promise<void>;
  /**
   * Re-snapshots the named PostgreSQL source from a new slot, replacing the replicas' copies (after a lost slot),
   * restarting its capture (failed or running). Resolves once asked; rejects with NOT_FOUND for a name this
   * process does not capture, OPERATION_UNSUPPORTED for a source that is not PostgreSQL.
   */
  resnapshot?(source: string): Promise<void>;
}
