/**
 * The PostgreSQL sink: the one SQL sink (../sql-sink.ts) with the PostgreSQL dialect. Commits are marked with
 * the replication origin `cdc_<stream>` so capture on this replica can tell replicated writes from local ones;
 * or, where the user may not use replication origins, with a marker row (../origin-marks.ts).
 */
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { ConflictSettings } from '../conflicts/types.ts';
import { postgresOriginMarks } from '../origin-marks.ts';
import { SqlSink } from '../sql-sink.ts';
import type { PostgresConnection } from './postgres-connection.ts';
import { PostgresDialect, originName, type PostgresDialectOptions } from './postgres-dialect.ts';

export interface PostgresSinkOptions extends PostgresDialectOptions {
  readonly logger?: Logger;
  /** Conflict detection and resolution (pair and mesh links); without it the plain fast path. */
  readonly conflicts?: ConflictSettings;
  /**
   * `marker-row`: mark commits with a row of cdc_apply.origin_marks instead of a replication origin (no
   * privilege needed; conflict handling is not possible then). Default `native`.
   */
  readonly originMarking?: 'native' | 'marker-row';
}

export { originName };

export class PostgresSink extends SqlSink<PostgresConnection> {
  constructor(options: PostgresSinkOptions) {
    const logger = options.logger ?? silentLogger;
    const marked = options.originMarking === 'marker-row' && options.replicationOrigin !== false;
    super(
      new PostgresDialect(marked ? { ...options, replicationOrigin: false } : options, logger),
      logger,
      options.conflicts,
      marked ? postgresOriginMarks((stream) => options.originName ?? originName(stream)) : undefined,
    );
  }
}
