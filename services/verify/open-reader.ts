/** Opens the reader for a connection URL's dialect: `postgres(ql)://` or `mysql://` / `mariadb://`. */
import { CdcError } from '../../common/errors.ts';
import { redactUrl, silentLogger, type Logger } from '../../common/logger.ts';
import { MysqlReader } from './mysql-reader.ts';
import { PostgresReader } from './postgres-reader.ts';
import type { TableReader } from './types.ts';

export async function openReader(
  url: string,
  role: 'source' | 'target',
  logger: Logger = silentLogger,
): Promise<TableReader> {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase() ?? '';
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return PostgresReader.open(url, role, logger);
    case 'mysql':
    case 'mariadb':
      return MysqlReader.open(url, role);
    default:
      throw new CdcError(
        'REQUEST_INVALID',
        `the ${role} URL ${redactUrl(url)} must start with postgres://, mysql:// or mariadb://`,
        { role },
      );
  }
}
