/**
 * The MariaDB/MySQL sink: the one SQL sink (../sql-sink.ts) with the MariaDB/MySQL dialect.
 *
 * Origin marking (optional): the binlog connector reports a change's origin as the binlog event's server id
 * when it differs from the source server's own `@@server_id` (connectors/mysql/README.md). Writing with a
 * session `server_id` of our own therefore marks every replicated row change, so capture on this replica can
 * tell them from local writes (mesh loop prevention). It needs BINLOG REPLAY (MariaDB) or SUPER.
 */
import { silentLogger, type Logger } from '../../../common/logger.ts';
import { mariadbOriginMarks } from '../origin-marks.ts';
import { SqlSink } from '../sql-sink.ts';
import type { MysqlConnection } from './mysql-connection.ts';
import { MysqlDialect, type MysqlDialectOptions } from './mysql-dialect.ts';

export interface MysqlSinkOptions extends MysqlDialectOptions {
  readonly logger?: Logger;
  /**
   * Mark writes with this marker in a row of cdc_apply.origin_marks instead of a session server_id (no
   * BINLOG REPLAY needed; ../origin-marks.ts). `originServerId` is then not used.
   */
  readonly originMarkRow?: string;
}

export class MysqlSink extends SqlSink<MysqlConnection> {
  constructor(options: MysqlSinkOptions) {
    const logger = options.logger ?? silentLogger;
    const { originServerId, originMarkRow, ...dialect } = options;
    super(
      new MysqlDialect(
        originMarkRow === undefined && originServerId !== undefined
          ? { ...dialect, originServerId }
          : dialect,
        logger,
      ),
      logger,
      undefined,
      originMarkRow === undefined ? undefined : mariadbOriginMarks(originMarkRow),
    );
  }
}
