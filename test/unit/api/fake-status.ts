/**
 * A StatusProvider with fixed answers, for driving the API with `inject()`. It stands in for the pipeline,
 * not for a database: the API only ever reads these objects.
 */
import type {
  ApplyWorkerStatus,
  ConnectorStatus,
  StatusProvider,
} from '../../../services/api/status-types.ts';
import { CdcError } from '../../../common/errors.ts';

export function connector(overrides: Partial<ConnectorStatus> = {}): ConnectorStatus {
  return {
    name: 'pg-main',
    kind: 'postgres',
    state: 'streaming',
    stream: 'slot cdc_pg_main',
    confirmed: 'pg:0/1A2B3C',
    received: 'pg:0/1A2B40',
    lagBytes: 4,
    lagMillis: 12,
    snapshot: null,
    lastError: null,
    ...overrides,
  };
}

export function worker(overrides: Partial<ApplyWorkerStatus> = {}): ApplyWorkerStatus {
  // lagMillis is the end-to-end lag under its older name: overriding it overrides both.
  const lagMillis = overrides.lagMillis === undefined ? 250 : overrides.lagMillis;
  return {
    name: 'pg-replica',
    source: 'pg-main',
    state: 'running',
    appliedPosition: 'pg:0/1A2B3C#0',
    lagMillis,
    endToEndLagMillis: lagMillis,
    hopLagMillis: lagMillis === null ? null : 200,
    backlogEvents: lagMillis === null ? null : 3,
    eventsApplied: 1200,
    transactionsApplied: 300,
    errors: 1,
    deadLetters: 1,
    lastError: null,
    ...overrides,
  };
}

export class FakeStatus implements StatusProvider {
  connectorList: ConnectorStatus[];
  workerList: ApplyWorkerStatus[];
  readonly snapshotRequests: { source: string; tables: readonly string[] }[] = [];
  snapshotFailure: Error | null = null;
  readonly pauseRequests: { kind: 'connector' | 'worker'; name: string; paused: boolean }[] = [];

  constructor(connectors: ConnectorStatus[] = [connector()], workers: ApplyWorkerStatus[] = [worker()]) {
    this.connectorList = connectors;
    this.workerList = workers;
  }

  connectors(): readonly ConnectorStatus[] {
    return this.connectorList;
  }

  workers(): readonly ApplyWorkerStatus[] {
    return this.workerList;
  }

  readonly resnapshotRequests: string[] = [];

  /** Notes a re-snapshot request and shows it running, as a PostgreSQL capture would. */
  resnapshot(source: string): Promise<void> {
    const index = this.connectorList.findIndex((item) => item.name === source);
    if (index < 0)
      return Promise.reject(new CdcError('NOT_FOUND', `no connector named ${JSON.stringify(source)}`));
    this.resnapshotRequests.push(source);
    const item = this.connectorList[index] as ConnectorStatus;
    this.connectorList[index] = {
      ...item,
      state: 'starting',
      resnapshot: { state: 'running', reason: 'requested by an operator' },
    };
    return Promise.resolve();
  }

  /** Marks the named connector or worker paused (or back to streaming/running), as the pipeline would. */
  setPaused(kind: 'connector' | 'worker', name: string, paused: boolean): Promise<void> {
    const list: { name: string; state: string }[] =
      kind === 'connector' ? this.connectorList : this.workerList;
    const index = list.findIndex((item) => item.name === name);
    if (index < 0) {
      const what = kind === 'connector' ? 'connector' : 'apply worker';
      return Promise.reject(new CdcError('NOT_FOUND', `no ${what} named ${JSON.stringify(name)}`));
    }
    this.pauseRequests.push({ kind, name, paused });
    if (kind === 'connector') {
      const item = this.connectorList[index] as ConnectorStatus;
      this.connectorList[index] = { ...item, state: paused ? 'paused' : 'streaming' };
    } else {
      const item = this.workerList[index] as ApplyWorkerStatus;
      this.workerList[index] = { ...item, state: paused ? 'paused' : 'running' };
    }
    return Promise.resolve();
  }

  requestSnapshot(source: string, tables: readonly string[]): Promise<void> {
    if (this.snapshotFailure) return Promise.reject(this.snapshotFailure);
    this.snapshotRequests.push({ source, tables });
    return Promise.resolve();
  }
}
