/**
 * What the API reads from a running pipeline. The pipeline implements StatusProvider over its connectors
 * (ConnectorStatus, defined with the connector contract) and apply workers (ApplyWorkerStatus, here).
 */
import type { ConnectorStatus, SnapshotProgress } from '../../connectors/connector.ts';
import type { VerifyReport, VerifyRequest } from '../verify/verify-replica.ts';

export type { ConnectorStatus, SnapshotProgress, VerifyReport, VerifyRequest };

export type ApplyWorkerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface ApplyWorkerStatus {
  readonly name: string;
  /** Name of the source whose changes the worker applies. */
  readonly source: string;
  readonly state: ApplyWorkerState;
  /** Last source position committed at the replica, formatted (formatPosition). */
  readonly appliedPosition: string | null;
  /** Milliseconds from the original source commit to the replica commit of the last applied transaction. */
  readonly lagMillis: number | null;
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
  verify?(request: VerifyRequest): Promise<VerifyReport>;
}
