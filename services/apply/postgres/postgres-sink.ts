/**
 * The PostgreSQL sink: the one SQL sink (../sql-sink.ts) with the PostgreSQL dialect. Commits are marked with
 * the replication origin `cdc_<stream>` so capture on this replica can tell replicated writes from local ones.
 */
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { ConflictSettings } from '../conflicts/types.ts';
import { SqlSink } from '../sql-sink.ts';
import type { PostgresConnection } from './postgres-connection.ts';
import { PostgresDialect, originName, type PostgresDialectOptions } from './postgres-dialect.ts';

export interface PostgresSinkOptions extends PostgresDialectOptions {
  readonly logger?: Logger;
  /** Conflict detection and resolution (pair and mesh links); without it the plain fast path. */
  readonly conflicts?: ConflictSettings;
}

export { originName };

export class PostgresSink extends SqlSink<PostgresConnection> {
  constructor(options: PostgresSinkOptions) {
    const logger = options.logger ?? silentLogger;
    super(new PostgresDialect(options, logger), logger, options.conflicts);
  }
}
