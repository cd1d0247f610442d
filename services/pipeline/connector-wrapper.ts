/**
 * A connector seen through a wrapper that changes what its stream yields (or watches it): acknowledgements,
 * status and snapshot requests go to the wrapped connector. The pipeline's wrappers (origin filter, column
 * filter, counter) extend it, so each says only what it changes.
 */
import type {
  CaptureBatch,
  ConnectorStatus,
  ResumePoint,
  SourceConnector,
} from '../../connectors/connector.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';

export abstract class ConnectorWrapper implements SourceConnector {
  readonly name: string;
  protected readonly inner: SourceConnector;

  constructor(inner: SourceConnector) {
    this.name = inner.name;
    this.inner = inner;
  }

  abstract stream(resume: ResumePoint, signal: AbortSignal): AsyncIterable<CaptureBatch>;

  acknowledge(commit: CommitPosition): Promise<void> {
    return this.inner.acknowledge(commit);
  }

  status(): ConnectorStatus {
    return this.inner.status();
  }

  requestSnapshot(tables: readonly string[]): Promise<void> {
    return this.inner.requestSnapshot(tables);
  }
}
