/**
 * The contract every source connector fulfils. A connector turns a database's change log into ordered
 * batches of change events; it knows nothing about Kafka. The capture service publishes each batch and then
 * acknowledges its commit position, which is the only thing that lets the connector release the source log.
 */
import type { ChangeEvent } from '../schemas/events/change-event.ts';
import type { CommitPosition, EventPosition } from '../schemas/positions/position.ts';

/** Opaque connector state saved atomically with the published position (snapshot progress, for example). */
export type ConnectorState = Readonly<Record<string, unknown>>;

export interface ResumePoint {
  /** Last event position durably published; the connector must not yield it or anything before it again. */
  readonly position: EventPosition | null;
  readonly state: ConnectorState | null;
}

/**
 * A piece of the change stream, in source order. `events` may be empty (a heartbeat: the source advanced
 * without anything to publish). `commit` is set when the batch ends at a point that is safe to resume from
 * (the end of a source transaction, a snapshot chunk, or a heartbeat); a batch that ends in the middle of a
 * large transaction has `commit: null`.
 */
export interface CaptureBatch {
  readonly events: readonly ChangeEvent[];
  readonly commit: CommitPosition | null;
  /** State to persist together with this batch's last position; absent means unchanged. */
  readonly state?: ConnectorState;
}

export interface SnapshotProgress {
  readonly table: string | null;
  readonly tablesDone: number;
  readonly tablesTotal: number;
  readonly rowsDone: number;
  /** Estimated from catalog statistics; may be off until the snapshot ends. */
  readonly rowsTotal: number;
  readonly rowsPerSecond: number;
  readonly done: boolean;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly kind: 'postgres' | 'mariadb' | 'mysql';
  readonly state: 'starting' | 'snapshotting' | 'streaming' | 'reconnecting' | 'stopped' | 'failed';
  /** PostgreSQL slot name or binlog stream description. */
  readonly stream: string;
  /** Last position the source has been told it may release (slot confirmed_flush_lsn, formatted). */
  readonly confirmed: string | null;
  /** Last position received from the source, formatted. */
  readonly received: string | null;
  readonly lagBytes: number | null;
  readonly lagMillis: number | null;
  readonly snapshot: SnapshotProgress | null;
  readonly lastError: string | null;
  /**
   * Conditions that do not stop capture but lose something an operator should fix (a PostgreSQL table whose
   * updates and deletes cannot be identified, for example), each naming the table and the fix.
   */
  readonly warnings?: readonly string[];
  /**
   * PostgreSQL sources whose slot was lost (gone or invalidated although capture published from it): `needed`
   * while capture is stopped waiting for an operator to take the re-snapshot (POST /connectors/:name/resnapshot),
   * `running` while it runs; absent otherwise.
   */
  readonly resnapshot?: { readonly state: 'needed' | 'running'; readonly reason: string };
  /** Binlog sources: `host:port` of the server read now, and of every server it may read (`url`, candidates). */
  readonly server?: { readonly current: string; readonly candidates: readonly string[] };
}

export interface SourceConnector {
  readonly name: string;
  /**
   * Validates the source (server settings, privileges, publication/slot or binlog settings) and yields the
   * change stream from just after `resume`. The iterator ends when `signal` aborts; it reconnects by itself
   * after transient failures and throws only on errors a retry cannot fix.
   */
  stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch>;
  /** Everything up to and including `commit` is durable downstream: the source may release it. */
  acknowledge(commit: CommitPosition): Promise<void>;
  status(): ConnectorStatus;
  /** Asks for a (re-)snapshot of the given tables (all captured tables when empty), run alongside streaming. */
  requestSnapshot(tables: readonly string[]): Promise<void>;
}
